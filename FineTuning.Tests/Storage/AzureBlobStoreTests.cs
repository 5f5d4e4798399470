using FineTuning.Core.Storage;
using FineTuning.Functions.Storage;

namespace FineTuning.Tests.Storage;

/// <summary>The Azure host's blob store on Azurite, through the real Azure.Storage.Blobs client: the same contract.</summary>
[Collection(AzuriteTests.Name)]
public sealed class AzureBlobStoreTests(AzuriteFixture azurite) : BlobStoreContract
{
    // Containers of their own, so that tests sharing the emulator do not list each other's blobs.
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..12];

    protected override IBlobStore Store { get; } = new AzureBlobStore(azurite.Blobs);

    protected override string Datasets => $"datasets-{_suffix}";

    protected override string Runs => $"runs-{_suffix}";

    [Fact]
    public async Task NameWithoutAContainerPath_IsRejected()
    {
        ArgumentException ex = await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync("datasets", Text("x")));

        Assert.Contains("container/path", ex.Message, StringComparison.Ordinal);
    }
}
