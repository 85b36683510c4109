using System.Buffers.Text;

namespace ImageFlowIO.Caching;

/// <summary>
/// The line-and-tab text of the cache folder's indexes (<see cref="InputDigestIndex"/>, <see cref="OutputFileIndex"/>),
/// read as UTF-8 in place: a fully cached run reads every line of both, and makes strings only for what it keeps.
/// </summary>
internal static class IndexText
{
    /// <summary>A non-negative decimal filling the whole field (as NumberStyles.None reads it).</summary>
    public static bool Number(ReadOnlySpan<byte> field, out long value) =>
        Utf8Parser.TryParse(field, out value, out var used) && used == field.Length && used > 0 && field[0] != (byte)'-' && field[0] != (byte)'+';

    /// <summary>The lines of a UTF-8 text (a trailing CR dropped, as File.ReadAllLines does).</summary>
    public ref struct Lines(ReadOnlySpan<byte> text)
    {
        private ReadOnlySpan<byte> _rest = text;

        public bool Next(out ReadOnlySpan<byte> line)
        {
            if (_rest.IsEmpty) { line = default; return false; }
            var end = _rest.IndexOf((byte)'\n');
            line = end < 0 ? _rest : _rest[..end];
            _rest = end < 0 ? default : _rest[(end + 1)..];
            if (line.EndsWith("\r"u8)) line = line[..^1];
            return true;
        }
    }

    /// <summary>The tab-separated fields of one line.</summary>
    public ref struct Fields(ReadOnlySpan<byte> line)
    {
        private ReadOnlySpan<byte> _rest = line;
        private bool _done;

        public readonly bool Done => _done;

        public ReadOnlySpan<byte> Next()
        {
            if (_done) return default;
            var end = _rest.IndexOf((byte)'\t');
            if (end < 0)
            {
                _done = true;
                return _rest;
            }
            var field = _rest[..end];
            _rest = _rest[(end + 1)..];
            return field;
        }

        /// <summary>The next <paramref name="count"/> fields as one span, the tabs between them included (one string for a two-part id).</summary>
        public ReadOnlySpan<byte> Next(int count)
        {
            var start = _rest;
            for (var i = 0; i < count && !_done; i++) Next();
            return _done ? start : start[..(start.Length - _rest.Length - 1)];
        }

        /// <summary>The rest of the line, tabs included, as one last field (as string.Split with a count keeps it).</summary>
        public ReadOnlySpan<byte> Rest()
        {
            if (_done) return default;
            _done = true;
            return _rest;
        }
    }
}
