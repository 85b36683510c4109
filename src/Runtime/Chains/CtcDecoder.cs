namespace ImageFlowIO.Chains;

/// <summary>
/// The recognizer's best path for one region: at each time step the most likely class, with blanks and repeats
/// already collapsed (so it does not depend on the dictionary: an edited dictionary only decodes it again).
/// </summary>
/// <param name="Classes">How many classes the model gave (blank + dictionary + space), checked against the dictionary.</param>
/// <param name="Ids">Class ids kept (1-based into the dictionary; 0 is the blank).</param>
/// <param name="Scores">Each kept id's probability.</param>
internal sealed record BestPath(int Classes, int[] Ids, float[] Scores);

/// <summary>CTC greedy decoding (PaddleOCR's <c>CTCLabelDecode</c>): argmax per step, repeats collapsed, blanks dropped.</summary>
internal static class CtcDecoder
{
    /// <summary>
    /// The best path through <paramref name="steps"/> × <paramref name="classes"/> scores (probabilities, or logits that are
    /// soft-maxed here). <paramref name="spaceScore"/>: the space's probability at a blank step above which it is read
    /// (infinity: never; then only a step whose best class is the space gives one).
    /// </summary>
    public static BestPath Greedy(ReadOnlySpan<float> output, int steps, int classes, float spaceScore = float.PositiveInfinity)
    {
        var ids = new List<int>();
        var scores = new List<float>();
        var previous = -1;
        for (var t = 0; t < steps; t++)
        {
            var row = output.Slice(t * classes, classes);
            var best = 0;
            float max = row[0], sum = 0, min = row[0];
            for (var c = 1; c < classes; c++)
            {
                if (row[c] > max) { max = row[c]; best = c; }
                min = MathF.Min(min, row[c]);
            }
            for (var c = 0; c < classes; c++) sum += row[c];
            var probability = max;
            // A model without its softmax gives logits: the best class's probability is then 1 / Σ exp(x − max).
            if (min < 0 || MathF.Abs(sum - 1) > 1e-2f)
            {
                float z = 0;
                for (var c = 0; c < classes; c++) z += MathF.Exp(row[c] - max);
                probability = 1 / z;
            }
            // PaddleOCR's recognizer rarely makes the space its best class in Latin text, but gives it a little
            // probability in the gap between words: a blank step where the space (the last class) is above
            // spaceScore reads as one space between two characters.
            if (best == 0 && ids.Count > 0 && ids[^1] != classes - 1 && row[classes - 1] > spaceScore)
            {
                best = classes - 1;
                probability = 1 - probability;
            }
            if (best != 0 && best != previous)
            {
                ids.Add(best);
                scores.Add(probability);
            }
            previous = best;
        }
        // A gap after the last character is not a space of the text.
        if (ids.Count > 0 && ids[^1] == classes - 1 && !(spaceScore > 1)) { ids.RemoveAt(ids.Count - 1); scores.RemoveAt(scores.Count - 1); }
        return new BestPath(classes, [.. ids], [.. scores]);
    }

    /// <summary>The text of a best path over <paramref name="dictionary"/> (id k is entry k − 1) and its score, the mean of its characters' probabilities (0 for no text).</summary>
    public static (string Text, float Score) Decode(BestPath path, IReadOnlyList<string> dictionary)
    {
        var text = new System.Text.StringBuilder();
        double sum = 0;
        for (var i = 0; i < path.Ids.Length; i++)
        {
            var k = path.Ids[i] - 1;
            if (k < 0 || k >= dictionary.Count) continue;
            text.Append(dictionary[k]);
            sum += path.Scores[i];
        }
        return (text.ToString(), path.Ids.Length == 0 ? 0 : (float)(sum / path.Ids.Length));
    }
}

/// <summary>A recognizer's character list: one entry per line of its file (line ends stripped), then the space, as PaddleOCR's <c>use_space_char</c>.</summary>
internal sealed record TextDictionary(IReadOnlyList<string> Entries, string Digest)
{
    public static TextDictionary Parse(byte[] bytes)
    {
        var text = System.Text.Encoding.UTF8.GetString(bytes);
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        lines.Add(" ");
        return new TextDictionary(lines, Caching.CacheKeys.ContentDigest(bytes));
    }

    /// <summary>The classes a recognizer over this dictionary gives: the blank, every entry (the space included).</summary>
    public int Classes => Entries.Count + 1;
}
