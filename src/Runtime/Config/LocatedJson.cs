// Shared with the netstandard2.0 generator (linked source).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ImageFlowIO.Config
{
    internal enum JsonKind { Object, Array, String, Number, True, False, Null }

    /// <summary>A JSON value that remembers where it was written, so every config error can point at its token.</summary>
    internal sealed class LocatedJson
    {
        private LocatedJson(JsonKind kind, TextLocation location) { Kind = kind; Location = location; }

        public JsonKind Kind { get; }
        public TextLocation Location { get; }
        public string? String { get; private set; }
        public double Number { get; private set; }
        /// <summary>The number as written (for integer checks and canonical output).</summary>
        public string? RawNumber { get; private set; }
        public List<LocatedProperty> Properties { get; } = new List<LocatedProperty>();
        public List<LocatedJson> Items { get; } = new List<LocatedJson>();

        public string KindName => Kind switch
        {
            JsonKind.Object => "an object",
            JsonKind.Array => "an array",
            JsonKind.String => "a string",
            JsonKind.Number => "a number",
            JsonKind.True or JsonKind.False => "a boolean",
            _ => "null",
        };

        /// <summary>Parses JSON with comments and trailing commas. Throws <see cref="LocatedJsonException"/> on bad syntax.</summary>
        public static LocatedJson Parse(string text)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var map = new TextMap(text, bytes);
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = 64 });
            try
            {
                if (!reader.Read()) throw new LocatedJsonException("the file is empty; a config is a JSON object such as { \"model\": { \"path\": \"model.onnx\" } }", new TextLocation(1, 1, 0, 0));
                var root = ReadValue(ref reader, map);
                if (reader.Read()) throw new LocatedJsonException("unexpected content after the end of the JSON object", map.Locate((int)reader.TokenStartIndex, 1));
                return root;
            }
            catch (JsonException ex)
            {
                var line = (int)(ex.LineNumber ?? 0) + 1;
                var col = (int)(ex.BytePositionInLine ?? 0) + 1;
                var message = ex.Message;
                var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
                if (cut > 0) message = message.Substring(0, cut).TrimEnd();
                throw new LocatedJsonException(message, map.FromLineColumn(line, col));
            }
        }

        private static LocatedJson ReadValue(ref Utf8JsonReader reader, TextMap map)
        {
            var start = (int)reader.TokenStartIndex;
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                {
                    var node = new LocatedJson(JsonKind.Object, map.Locate(start, 1));
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        var nameStart = (int)reader.TokenStartIndex;
                        var name = reader.GetString() ?? "";
                        var nameLoc = map.Locate(nameStart, map.TokenLength(nameStart, reader.HasValueSequence ? 0 : reader.ValueSpan.Length + 2));
                        reader.Read();
                        node.Properties.Add(new LocatedProperty(name, nameLoc, ReadValue(ref reader, map)));
                    }
                    return node;
                }
                case JsonTokenType.StartArray:
                {
                    var node = new LocatedJson(JsonKind.Array, map.Locate(start, 1));
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        node.Items.Add(ReadValue(ref reader, map));
                    return node;
                }
                case JsonTokenType.String:
                    return new LocatedJson(JsonKind.String, map.Locate(start, map.TokenLength(start, reader.ValueSpan.Length + 2))) { String = reader.GetString() };
                case JsonTokenType.Number:
                {
                    var raw = Encoding.UTF8.GetString(reader.ValueSpan.ToArray());
                    return new LocatedJson(JsonKind.Number, map.Locate(start, raw.Length)) { Number = reader.GetDouble(), RawNumber = raw };
                }
                case JsonTokenType.True: return new LocatedJson(JsonKind.True, map.Locate(start, 4));
                case JsonTokenType.False: return new LocatedJson(JsonKind.False, map.Locate(start, 5));
                default: return new LocatedJson(JsonKind.Null, map.Locate(start, 4));
            }
        }

        /// <summary>Maps UTF-8 byte offsets to 1-based line/column and character offsets.</summary>
        private sealed class TextMap
        {
            private readonly byte[] _bytes;
            private readonly List<int> _lineStarts = new List<int> { 0 };

            public TextMap(string text, byte[] bytes)
            {
                _bytes = bytes;
                for (var i = 0; i < bytes.Length; i++) if (bytes[i] == (byte)'\n') _lineStarts.Add(i + 1);
            }

            public int TokenLength(int byteStart, int byteLength)
            {
                if (byteLength <= 0) return 1;
                var end = Math.Min(_bytes.Length, byteStart + byteLength);
                return Encoding.UTF8.GetCharCount(_bytes, byteStart, end - byteStart);
            }

            public TextLocation Locate(int byteOffset, int charLength)
            {
                var line = _lineStarts.BinarySearch(byteOffset);
                if (line < 0) line = ~line - 1;
                var lineStart = _lineStarts[line];
                var column = Encoding.UTF8.GetCharCount(_bytes, lineStart, byteOffset - lineStart) + 1;
                var offset = Encoding.UTF8.GetCharCount(_bytes, 0, byteOffset);
                return new TextLocation(line + 1, column, offset, charLength);
            }

            public TextLocation FromLineColumn(int line, int byteColumn)
            {
                if (line < 1 || line > _lineStarts.Count) return new TextLocation(line, byteColumn, 0, 1);
                var byteOffset = Math.Min(_bytes.Length, _lineStarts[line - 1] + byteColumn - 1);
                return Locate(byteOffset, 1);
            }
        }
    }

    internal sealed class LocatedProperty
    {
        public LocatedProperty(string name, TextLocation nameLocation, LocatedJson value) { Name = name; NameLocation = nameLocation; Value = value; }
        public string Name { get; }
        public TextLocation NameLocation { get; }
        public LocatedJson Value { get; }
    }

    /// <summary>1-based line and column, 0-based character offset and length of a token.</summary>
    internal readonly struct TextLocation
    {
        public TextLocation(int line, int column, int offset, int length) { Line = line; Column = column; Offset = offset; Length = length; }
        public int Line { get; }
        public int Column { get; }
        public int Offset { get; }
        public int Length { get; }
        public override string ToString() => Line.ToString(CultureInfo.InvariantCulture) + "," + Column.ToString(CultureInfo.InvariantCulture);
    }

    internal sealed class LocatedJsonException : Exception
    {
        public LocatedJsonException(string message, TextLocation location) : base(message) { Location = location; }
        public TextLocation Location { get; }
    }
}
