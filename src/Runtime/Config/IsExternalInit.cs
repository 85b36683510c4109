// Shared with the netstandard2.0 generator, which lacks this type for init-only setters.
#if NETSTANDARD2_0
namespace System.Runtime.CompilerServices
{
    internal static class IsExternalInit { }
}
#endif
