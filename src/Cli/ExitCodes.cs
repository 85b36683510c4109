namespace ImageFlowIO.Cli;

/// <summary>The CLI's exit codes (SPEC §6).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int SomeInputsFailed = 1;
    public const int UsageOrConfig = 2;
    public const int Model = 3;
    public const int OutputNotWritable = 4;
    /// <summary>Interrupted (Ctrl+C), the shell convention 128 + SIGINT.</summary>
    public const int Cancelled = 130;

    public static int For(ImageFlowException ex) => ex.Family switch
    {
        ErrorFamily.Config => UsageOrConfig,
        ErrorFamily.Model => Model,
        ErrorFamily.Output => OutputNotWritable,
        _ => SomeInputsFailed,
    };
}
