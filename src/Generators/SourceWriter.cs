using System.Text;

namespace ImageFlowIO.Generators
{
    /// <summary>Indented lines with \n endings, so generated source is the same on every OS (both emitters write through it).</summary>
    internal sealed class SourceWriter
    {
        private readonly StringBuilder _sb = new StringBuilder();
        private int _indent;

        public void Line(string text = "")
        {
            if (text.Length > 0) _sb.Append(' ', _indent * 4).Append(text);
            _sb.Append('\n');
        }

        public void Open() { Line("{"); _indent++; }
        public void Close(string closing = "}") { _indent--; Line(closing); }
        public void Indent() => _indent++;
        public void Outdent() => _indent--;
        public override string ToString() => _sb.ToString();
    }
}
