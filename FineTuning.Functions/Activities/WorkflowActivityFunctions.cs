using FineTuning.Core.Evaluation;
using FineTuning.Core.Providers;
using FineTuning.Core.Workflow;
using FineTuning.Core.Workflow.Activities;
using Microsoft.Azure.Functions.Worker;

namespace FineTuning.Functions.Activities;

/// <summary>One activity function per Core activity, each a one-line delegation.</summary>
public sealed class WorkflowActivityFunctions(
    PlanShards planShards,
    ValidateShard validateShard,
    MergeValidation mergeValidation,
    CheckGrader checkGrader,
    SplitDataset splitDataset,
    UploadFile uploadFile,
    GetFileStatus getFileStatus,
    SubmitJob submitJob,
    GetJob getJob,
    CancelJob cancelJob,
    PauseJob pauseJob,
    ResumeJob resumeJob,
    CollectResults collectResults,
    PlanEvaluation planEvaluation,
    EvaluateBatch evaluateBatch,
    ReportEvaluation reportEvaluation,
    UpdateRun updateRun,
    RegisterModel registerModel,
    ChangeModelStage changeModelStage,
    DeployModel deployModel,
    GetDeployment getDeployment,
    RemoveDeployment removeDeployment
)
{
    [Function(nameof(PlanShards))]
    public Task<ShardPlan> PlanShardsAsync([ActivityTrigger] PlanShardsInput input, CancellationToken cancellationToken) =>
        planShards.RunAsync(input, cancellationToken);

    [Function(nameof(ValidateShard))]
    public Task<ShardValidated> ValidateShardAsync([ActivityTrigger] ValidateShardInput input, CancellationToken cancellationToken) =>
        validateShard.RunAsync(input, cancellationToken);

    [Function(nameof(MergeValidation))]
    public Task<ValidationSummary> MergeValidationAsync(
        [ActivityTrigger] MergeValidationInput input,
        CancellationToken cancellationToken
    ) => mergeValidation.RunAsync(input, cancellationToken);

    [Function(nameof(CheckGrader))]
    public Task<GraderChecked> CheckGraderAsync([ActivityTrigger] CheckGraderInput input, CancellationToken cancellationToken) =>
        checkGrader.RunAsync(input, cancellationToken);

    [Function(nameof(SplitDataset))]
    public Task<SplitSummary> SplitDatasetAsync([ActivityTrigger] SplitInput input, CancellationToken cancellationToken) =>
        splitDataset.RunAsync(input, cancellationToken);

    [Function(nameof(UploadFile))]
    public Task<ProviderFile> UploadFileAsync([ActivityTrigger] string blobName, CancellationToken cancellationToken) =>
        uploadFile.RunAsync(blobName, cancellationToken);

    [Function(nameof(GetFileStatus))]
    public Task<ProviderFile> GetFileStatusAsync([ActivityTrigger] string fileId, CancellationToken cancellationToken) =>
        getFileStatus.RunAsync(fileId, cancellationToken);

    [Function(nameof(SubmitJob))]
    public Task<JobSnapshot> SubmitJobAsync([ActivityTrigger] JobRequest request, CancellationToken cancellationToken) =>
        submitJob.RunAsync(request, cancellationToken);

    [Function(nameof(GetJob))]
    public Task<JobSnapshot> GetJobAsync([ActivityTrigger] string jobId, CancellationToken cancellationToken) =>
        getJob.RunAsync(jobId, cancellationToken);

    [Function(nameof(CancelJob))]
    public Task<JobSnapshot> CancelJobAsync([ActivityTrigger] string jobId, CancellationToken cancellationToken) =>
        cancelJob.RunAsync(jobId, cancellationToken);

    [Function(nameof(PauseJob))]
    public Task<JobSnapshot> PauseJobAsync([ActivityTrigger] string jobId, CancellationToken cancellationToken) =>
        pauseJob.RunAsync(jobId, cancellationToken);

    [Function(nameof(ResumeJob))]
    public Task<JobSnapshot> ResumeJobAsync([ActivityTrigger] string jobId, CancellationToken cancellationToken) =>
        resumeJob.RunAsync(jobId, cancellationToken);

    [Function(nameof(CollectResults))]
    public Task<ResultsSummary> CollectResultsAsync([ActivityTrigger] CollectResultsInput input, CancellationToken cancellationToken) =>
        collectResults.RunAsync(input, cancellationToken);

    [Function(nameof(UpdateRun))]
    public Task<bool> UpdateRunAsync([ActivityTrigger] RunRow row, CancellationToken cancellationToken) =>
        updateRun.RunAsync(row, cancellationToken);

    [Function(nameof(RegisterModel))]
    public Task<bool> RegisterModelAsync([ActivityTrigger] ModelRow row, CancellationToken cancellationToken) =>
        registerModel.RunAsync(row, cancellationToken);

    [Function(nameof(PlanEvaluation))]
    public Task<EvaluationPlan> PlanEvaluationAsync([ActivityTrigger] EvaluationInput input, CancellationToken cancellationToken) =>
        planEvaluation.RunAsync(input, cancellationToken);

    [Function(nameof(EvaluateBatch))]
    public Task<BatchEvaluated> EvaluateBatchAsync([ActivityTrigger] EvaluateBatchInput input, CancellationToken cancellationToken) =>
        evaluateBatch.RunAsync(input, cancellationToken);

    [Function(nameof(ReportEvaluation))]
    public Task<EvaluationDigest> ReportEvaluationAsync(
        [ActivityTrigger] ReportEvaluationInput input,
        CancellationToken cancellationToken
    ) => reportEvaluation.RunAsync(input, cancellationToken);

    [Function(nameof(ChangeModelStage))]
    public Task<StageChanged> ChangeModelStageAsync([ActivityTrigger] ModelStageInput input, CancellationToken cancellationToken) =>
        changeModelStage.RunAsync(input, cancellationToken);

    [Function(nameof(DeployModel))]
    public Task<DeploymentState?> DeployModelAsync([ActivityTrigger] DeployInput input, CancellationToken cancellationToken) =>
        deployModel.RunAsync(input, cancellationToken);

    [Function(nameof(GetDeployment))]
    public Task<DeploymentState?> GetDeploymentAsync([ActivityTrigger] string name, CancellationToken cancellationToken) =>
        getDeployment.RunAsync(name, cancellationToken);

    [Function(nameof(RemoveDeployment))]
    public Task<bool> RemoveDeploymentAsync([ActivityTrigger] string name, CancellationToken cancellationToken) =>
        removeDeployment.RunAsync(name, cancellationToken);
}
