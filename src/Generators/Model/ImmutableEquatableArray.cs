using System;
using System.Collections;
using System.Collections.Generic;

namespace ImageFlowIO.Generators.Model
{
    /// <summary>
    /// An immutable array compared by its elements, so models holding lists stay value-equal between generator runs
    /// (the pattern of dotnet/runtime's System.Text.Json generator).
    /// </summary>
    internal sealed class ImmutableEquatableArray<T> : IEquatable<ImmutableEquatableArray<T>>, IReadOnlyList<T>
        where T : IEquatable<T>
    {
        public static readonly ImmutableEquatableArray<T> Empty = new ImmutableEquatableArray<T>(Array.Empty<T>());

        private readonly T[] _values;

        public ImmutableEquatableArray(IEnumerable<T> values) { _values = new List<T>(values).ToArray(); }

        public T this[int index] => _values[index];
        public int Count => _values.Length;

        public bool Equals(ImmutableEquatableArray<T>? other)
        {
            if (other is null) return false;
            if (ReferenceEquals(this, other)) return true;
            if (_values.Length != other._values.Length) return false;
            for (var i = 0; i < _values.Length; i++)
                if (!EqualityComparer<T>.Default.Equals(_values[i], other._values[i])) return false;
            return true;
        }

        public override bool Equals(object? obj) => Equals(obj as ImmutableEquatableArray<T>);

        public override int GetHashCode()
        {
            var hash = 17;
            foreach (var value in _values) hash = unchecked(hash * 31 + (value is null ? 0 : value.GetHashCode()));
            return hash;
        }

        public IEnumerator<T> GetEnumerator() => ((IEnumerable<T>)_values).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => _values.GetEnumerator();
    }

    internal static class ImmutableEquatableArray
    {
        public static ImmutableEquatableArray<T> ToImmutableEquatableArray<T>(this IEnumerable<T> values) where T : IEquatable<T>
            => new ImmutableEquatableArray<T>(values);
    }
}
