namespace FineTuning.Core.Workflow;

/// <summary>
/// An activity of the workflow: a record in, a record out, idempotent (it may run more than once). Its name in the
/// durable history is its class name, declared once in <see cref="WorkflowCatalog"/>.
/// </summary>
public interface IWorkflowActivity<in TInput, TOutput>
{
    Task<TOutput> RunAsync(TInput input, CancellationToken cancellationToken = default);
}
