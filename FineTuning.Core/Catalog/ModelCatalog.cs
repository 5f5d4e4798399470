using System.Text.Json;
using System.Text.Json.Serialization;
using FineTuning.Core.Datasets;

namespace FineTuning.Core.Catalog;

/// <summary>What the product knows about one base model: methods, limits, prices and retirement.</summary>
public sealed record ModelFacts(
    string Name,
    IReadOnlyList<string> Aliases,
    IReadOnlyList<string> Methods,
    int MaxTokensPerExample,
    decimal? TrainingPricePerMillionTokens,
    decimal? TrainingPricePerHour,
    DateOnly? AcceptsJobsUntil,
    bool Vision = false,
    InferencePrices? InferencePrices = null,
    IReadOnlyList<string>? AzureDeploymentTypes = null,
    IReadOnlyList<string>? AzureMethods = null
)
{
    public bool Supports(FineTuningMethod method) => Methods.Contains(method.ToWireName(), StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Whether Azure OpenAI deploys models fine-tuned from this one with <paramref name="sku"/> (true when the catalogue
    /// does not say).
    /// </summary>
    public bool AzureDeploys(string sku) =>
        AzureDeploymentTypes is null || AzureDeploymentTypes.Contains(sku, StringComparer.OrdinalIgnoreCase);
}

/// <summary>USD per 1M tokens of answers from the base model and from a model fine-tuned from it.</summary>
public sealed record InferencePrices(decimal Input, decimal Output, decimal FineTunedInput, decimal FineTunedOutput);

/// <summary>An Azure OpenAI training type (a job's <c>trainingType</c>) and what it costs against the others.</summary>
public sealed record AzureTrainingType(string Name, string Says);

/// <summary>
/// The per-model facts of <c>Catalog/models.json</c>, loaded at run time (embedded in the assembly, or from a file
/// given by the user), so that providers' changes are a data edit, not a code change.
/// </summary>
public sealed partial class ModelCatalog
{
    private static readonly Lazy<ModelCatalog> Embedded = new(LoadEmbedded);

    private readonly Dictionary<string, ModelFacts> _byName;
    private readonly Dictionary<string, string> _defaultModels;
    private readonly Dictionary<string, ModelPreview> _previews;

    private ModelCatalog(CatalogFile file)
    {
        ReadOn = file.ReadOn;
        AzureGlobalTrainingRegions = file.Azure?.GlobalTrainingRegions ?? [];
        AzureStandardTrainingRegions = file.Azure?.StandardTrainingRegions ?? [];
        AzureTrainingTypes =
        [
            .. (file.Azure?.TrainingTypes ?? []).Select(t => new AzureTrainingType(
                t.Name ?? throw new InvalidDataException("models.json: every Azure training type needs a name."),
                t.Says ?? ""
            )),
        ];
        AzureTrainingTypesSource = file.Azure?.TrainingTypesSource ?? "";
        Sources = file.Sources ?? [];
        DefaultModel = file.DefaultModel ?? throw new InvalidDataException("models.json: defaultModel is required.");
        _defaultModels = file.DefaultModels ?? [];
        Models = (file.Models ?? [])
            .Select(m => new ModelFacts(
                m.Name ?? throw new InvalidDataException("models.json: every model needs a name."),
                m.Aliases ?? [],
                m.Methods ?? [],
                m.MaxTokensPerExample > 0
                    ? m.MaxTokensPerExample
                    : throw new InvalidDataException($"models.json: {m.Name}: maxTokensPerExample must be positive."),
                m.TrainingPricePerMillionTokens,
                m.TrainingPricePerHour,
                m.AcceptsJobsUntil,
                m.Vision,
                m.InferencePricePerMillionTokens,
                m.AzureDeploymentTypes,
                m.AzureMethods
            ))
            .ToList();
        _previews = new Dictionary<string, ModelPreview>(StringComparer.OrdinalIgnoreCase);
        foreach (ModelPreview preview in file.Previews ?? [])
        {
            foreach (string name in (preview.Aliases ?? []).Prepend(preview.Name ?? ""))
            {
                _previews.TryAdd(name, preview);
            }
        }

        _byName = new Dictionary<string, ModelFacts>(StringComparer.OrdinalIgnoreCase);
        foreach (ModelFacts model in Models)
        {
            _byName[model.Name] = model;
            foreach (string alias in model.Aliases)
            {
                _byName.TryAdd(alias, model);
            }
        }

        foreach (string name in _defaultModels.Values.Append(DefaultModel))
        {
            if (!_byName.ContainsKey(name))
            {
                throw new InvalidDataException($"models.json: default model '{name}' is not one of the models.");
            }
        }
    }

    /// <summary>The catalogue shipped with the product.</summary>
    public static ModelCatalog Default => Embedded.Value;

    public string? ReadOn { get; }

    /// <summary>The Azure regions that offer Global fine-tuning (the Bicep's <c>openAILocation</c> allows exactly these).</summary>
    public IReadOnlyList<string> AzureGlobalTrainingRegions { get; }

    /// <summary>Per model, the Azure regions that offer Standard (regional, data-resident) fine-tuning.</summary>
    public IReadOnlyDictionary<string, List<string>> AzureStandardTrainingRegions { get; }

    /// <summary>
    /// Azure OpenAI's training types (a job's <c>trainingType</c>) and how each is billed against the others: Azure
    /// documents relative discounts only (<see cref="AzureTrainingTypesSource"/>).
    /// </summary>
    public IReadOnlyList<AzureTrainingType> AzureTrainingTypes { get; }

    /// <summary>Where <see cref="AzureTrainingTypes"/> was read, and when.</summary>
    public string AzureTrainingTypesSource { get; }

    public IReadOnlyList<string> Sources { get; }

    public string DefaultModel { get; }

    public IReadOnlyList<ModelFacts> Models { get; }

    /// <summary>The model used for a method when none is named.</summary>
    public ModelFacts DefaultFor(FineTuningMethod method) => _byName[_defaultModels.GetValueOrDefault(method.ToWireName()) ?? DefaultModel];

    /// <summary>
    /// Finds a model by name or alias (null or blank: the default for <paramref name="method"/>); a fine-tuned model id
    /// (<c>ft:base:org::id</c> on OpenAI, <c>base.ft-id</c> on Azure OpenAI) resolves to its base.
    /// </summary>
    public ModelFacts? Find(string? name, FineTuningMethod method = FineTuningMethod.Auto)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return DefaultFor(method);
        }

        string key = name.Trim();
        if (key.StartsWith("ft:", StringComparison.Ordinal))
        {
            string[] parts = key.Split(':');
            key = parts.Length > 1 ? parts[1] : key;
        }
        else if (key.IndexOf(".ft-", StringComparison.Ordinal) is > 0 and int at)
        {
            key = key[..at]; // Azure OpenAI names a fine-tuned model base.ft-id
        }

        return _byName.GetValueOrDefault(key);
    }

    /// <summary>
    /// Why <paramref name="name"/> has no facts here: not in the catalogue, or (a model a provider fine-tunes by
    /// invitation without publishing its limits and prices) what is known of it and where that was read.
    /// </summary>
    public string NotCatalogued(string name) =>
        _previews.TryGetValue(name.Trim(), out ModelPreview? preview)
            ? $"\"{name}\" is {preview.Says}; its per-example token limit and training price are not published "
                + $"(read {ReadOn}: {preview.Source}), so it is not in the model catalogue"
            : $"\"{name}\" is not in the model catalogue";

    public static ModelCatalog Load(Stream json) =>
        new(JsonSerializer.Deserialize(json, CatalogJson.Default.CatalogFile) ?? throw new InvalidDataException("models.json is empty."));

    public static ModelCatalog LoadFile(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Load(stream);
    }

    private static ModelCatalog LoadEmbedded()
    {
        using Stream stream = typeof(ModelCatalog).Assembly.GetManifestResourceStream("FineTuning.Core.Catalog.models.json")
            ?? throw new InvalidOperationException("The embedded model catalogue is missing from FineTuning.Core.");
        return Load(stream);
    }

    // Source-generated, so reading the catalogue at start-up needs no reflection.
    [JsonSourceGenerationOptions(
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true
    )]
    [JsonSerializable(typeof(CatalogFile))]
    private sealed partial class CatalogJson : JsonSerializerContext;

    private sealed class CatalogFile
    {
        public string? ReadOn { get; set; }

        public List<string>? Sources { get; set; }

        public string? DefaultModel { get; set; }

        public Dictionary<string, string>? DefaultModels { get; set; }

        public List<ModelEntry>? Models { get; set; }

        public AzureFacts? Azure { get; set; }

        public List<ModelPreview>? Previews { get; set; }
    }

    private sealed class ModelPreview
    {
        public string? Name { get; set; }

        public List<string>? Aliases { get; set; }

        public string? Says { get; set; }

        public string? Source { get; set; }
    }

    private sealed class AzureFacts
    {
        public List<string>? GlobalTrainingRegions { get; set; }

        public Dictionary<string, List<string>>? StandardTrainingRegions { get; set; }

        public List<TrainingTypeEntry>? TrainingTypes { get; set; }

        public string? TrainingTypesSource { get; set; }
    }

    private sealed class TrainingTypeEntry
    {
        public string? Name { get; set; }

        public string? Says { get; set; }
    }

    private sealed class ModelEntry
    {
        public string? Name { get; set; }

        public List<string>? Aliases { get; set; }

        public List<string>? Methods { get; set; }

        public int MaxTokensPerExample { get; set; }

        public decimal? TrainingPricePerMillionTokens { get; set; }

        public decimal? TrainingPricePerHour { get; set; }

        [JsonPropertyName("acceptsJobsUntil")]
        public DateOnly? AcceptsJobsUntil { get; set; }

        /// <summary>Whether supervised rows may hold images (image_url content parts).</summary>
        public bool Vision { get; set; }

        public List<string>? AzureDeploymentTypes { get; set; }

        public List<string>? AzureMethods { get; set; }

        public InferencePrices? InferencePricePerMillionTokens { get; set; }
    }
}
