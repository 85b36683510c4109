namespace ImageFlowIO.Chains;

/// <summary>
/// One line of text a chain found in an input: what the recognizer read, its score (the mean probability of its
/// characters), and its box as four corners in source-image pixels, clockwise from the top-left of the text as it reads.
/// </summary>
public sealed record TextLine(string Text, float Score, IReadOnlyList<TextPoint> Box)
{
    /// <summary>0, or 180 when the orientation classifier turned the region before it was read.</summary>
    public int Angle { get; init; }
    /// <summary>The orientation classifier's score for <see cref="Angle"/> (0 without a classifier).</summary>
    public float AngleScore { get; init; }
}
