using System.Text;
using ImageFlowIO.Config;

namespace ImageFlowIO.Inference;

/// <summary>
/// Reads a model's signature (first input and output: names, element type, shape) straight from the .onnx file's
/// protobuf (ModelProto.graph → GraphProto.input/output/initializer → ValueInfoProto), so a process whose every input is
/// served by a cache never loads ONNX Runtime nor creates a session. Anything it does not understand gives null and the
/// backend asks ONNX Runtime instead. The bytes are untrusted: every length is bounds-checked, nothing is allocated
/// from a length the file claims.
/// </summary>
internal static class OnnxModelHeader
{
    // Field numbers of onnx.proto3 (ModelProto, GraphProto, ValueInfoProto, TypeProto, TensorShapeProto, TensorProto).
    private const int ModelGraph = 7;
    private const int GraphInitializer = 5, GraphInput = 11, GraphOutput = 12, GraphSparseInitializer = 15;
    private const int TensorName = 8;
    private const int ValueInfoName = 1, ValueInfoType = 2;
    private const int TypeTensor = 1, TensorElemType = 1, TensorShape = 2, ShapeDim = 1, DimValue = 1;
    private const int WireVarint = 0, WireFixed64 = 1, WireLength = 2, WireFixed32 = 5;
    private const int MaxRank = 8;

    public static ModelSignature? TryRead(ReadOnlySpan<byte> model, ModelConfig config)
    {
        try { return Read(model, config); }
        catch (FormatException) { return null; }
    }

    private static ModelSignature? Read(ReadOnlySpan<byte> model, ModelConfig config)
    {
        ReadOnlySpan<byte> graph = default;
        var found = false;
        var reader = new Reader(model);
        while (reader.Next(out var field, out var wire))
        {
            if (field == ModelGraph && wire == WireLength) { graph = reader.Bytes(); found = true; }
            else reader.Skip(wire);
        }
        if (!found) return null;

        var initializers = new HashSet<string>(StringComparer.Ordinal);
        var inputs = new List<ValueInfo>();
        var outputs = new List<ValueInfo>();
        var g = new Reader(graph);
        while (g.Next(out var field, out var wire))
        {
            if (wire != WireLength) { g.Skip(wire); continue; }
            var body = g.Bytes();
            switch (field)
            {
                case GraphInitializer: initializers.Add(TensorProtoName(body)); break;
                case GraphInput: inputs.Add(ReadValueInfo(body)); break;
                case GraphOutput: outputs.Add(ReadValueInfo(body)); break;
                case GraphSparseInitializer: return null; // rare; ONNX Runtime knows how it hides them from the inputs
            }
        }
        // ONNX Runtime's inputs are the graph inputs that no initializer feeds (older IR versions list weights as inputs).
        var realInputs = inputs.Where(i => !initializers.Contains(i.Name)).ToList();
        if (realInputs.Count == 0 || outputs.Count == 0) return null;
        var input = config.InputName is { } inName ? realInputs.FirstOrDefault(i => i.Name == inName) : realInputs[0];
        var output = config.OutputName is { } outName ? outputs.FirstOrDefault(o => o.Name == outName) : outputs[0];
        // A name the model lacks, or a type ImageFlowIO does not feed: ONNX Runtime's path gives the precise error.
        if (input?.Shape is null || output?.Shape is null || ToInputType(input.ElemType) is not { } inputType) return null;
        var layout = config.Layout == TensorLayout.Auto ? ModelSignature.InferLayout(input.Shape) : config.Layout;
        return new ModelSignature(input.Name, inputType, input.Shape, output.Name, output.Shape, layout);
    }

    private static TensorDataType? ToInputType(long elemType) => elemType switch
    {
        1 => TensorDataType.Float32,
        10 => TensorDataType.Float16,
        2 => TensorDataType.Uint8,
        3 => TensorDataType.Int8,
        _ => null,
    };

    private sealed record ValueInfo(string Name, long ElemType, long[]? Shape);

    private static string TensorProtoName(ReadOnlySpan<byte> tensor)
    {
        var r = new Reader(tensor);
        var name = "";
        while (r.Next(out var field, out var wire))
        {
            if (field == TensorName && wire == WireLength) name = r.String();
            else r.Skip(wire);
        }
        return name;
    }

    private static ValueInfo ReadValueInfo(ReadOnlySpan<byte> valueInfo)
    {
        var r = new Reader(valueInfo);
        string name = "";
        long elemType = 0;
        long[]? shape = null;
        while (r.Next(out var field, out var wire))
        {
            if (field == ValueInfoName && wire == WireLength) name = r.String();
            else if (field == ValueInfoType && wire == WireLength)
            {
                // TypeProto: only tensor types have a signature this pipeline uses (sequence, map: null shape).
                var type = new Reader(r.Bytes());
                while (type.Next(out var tf, out var tw))
                {
                    if (tf != TypeTensor || tw != WireLength) { type.Skip(tw); continue; }
                    var tensor = new Reader(type.Bytes());
                    shape = [];
                    while (tensor.Next(out var f, out var w))
                    {
                        if (f == TensorElemType && w == WireVarint) elemType = tensor.Varint();
                        else if (f == TensorShape && w == WireLength) shape = ReadShape(tensor.Bytes());
                        else tensor.Skip(w);
                    }
                }
            }
            else r.Skip(wire);
        }
        return new ValueInfo(name, elemType, shape);
    }

    /// <summary>The dimensions: a fixed value, or -1 for a named (symbolic) or unknown one, as ONNX Runtime reports them.</summary>
    private static long[] ReadShape(ReadOnlySpan<byte> shapeProto)
    {
        var dims = new List<long>();
        var r = new Reader(shapeProto);
        while (r.Next(out var field, out var wire))
        {
            if (field != ShapeDim || wire != WireLength) { r.Skip(wire); continue; }
            if (dims.Count == MaxRank) throw new FormatException("too many dimensions");
            var dim = new Reader(r.Bytes());
            long value = -1;
            while (dim.Next(out var f, out var w))
            {
                if (f == DimValue && w == WireVarint) value = dim.Varint();
                else dim.Skip(w);
            }
            dims.Add(value);
        }
        return [.. dims];
    }

    /// <summary>A protobuf wire-format reader over a span; malformed input throws <see cref="FormatException"/>.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _at;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_at >= _data.Length) return false;
            var tag = Varint();
            wire = (int)(tag & 7);
            var number = tag >> 3;
            if (number is <= 0 or > int.MaxValue) throw new FormatException("bad field number");
            field = (int)number;
            return true;
        }

        public long Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_at >= _data.Length) throw new FormatException("truncated varint");
                var b = _data[_at++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return (long)value;
            }
            throw new FormatException("varint too long");
        }

        public ReadOnlySpan<byte> Bytes()
        {
            var length = Varint();
            if (length < 0 || length > _data.Length - _at) throw new FormatException("length past the end");
            var bytes = _data.Slice(_at, (int)length);
            _at += (int)length;
            return bytes;
        }

        public string String() => Encoding.UTF8.GetString(Bytes());

        public void Skip(int wire)
        {
            switch (wire)
            {
                case WireVarint: Varint(); break;
                case WireLength: Bytes(); break;
                case WireFixed64: Advance(8); break;
                case WireFixed32: Advance(4); break;
                default: throw new FormatException("unsupported wire type");
            }
        }

        private void Advance(int count)
        {
            if (count > _data.Length - _at) throw new FormatException("truncated field");
            _at += count;
        }
    }
}
