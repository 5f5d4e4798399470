using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace FineTuning.Emulator;

/// <summary>The emulator's JSON contracts, known at build time: its answers are JSON nodes, its state a snapshot.</summary>
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(EmulatorState.Snapshot))]
internal sealed partial class EmulatorJsonContext : JsonSerializerContext;
