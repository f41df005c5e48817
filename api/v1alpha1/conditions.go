package v1alpha1

// Condition types, with kstatus semantics: Ready is always present;
// Reconciling and Stalled are present only while true.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Event reasons that are not condition reasons.
const (
	EventScanRequested       = "ScanRequested"
	EventScanCompleted       = "ScanCompleted"
	EventMaliciousFilesFound = "MaliciousFilesFound"
	// EventBackendChanged: another family of HSS calls serves the
	// ImageScan, e.g. after HSS retired batch-scan.
	EventBackendChanged = "BackendChanged"
	// EventReportsDeleted: reports of the current round were deleted from
	// outside; they are made again.
	EventReportsDeleted = "ReportsDeleted"
)

// Condition reasons.
const (
	ReasonSucceeded           = "Succeeded"
	ReasonProgressing         = "Progressing"
	ReasonScanning            = "Scanning"
	ReasonImagesFailed        = "ImagesFailed"
	ReasonImagesNotFound      = "ImagesNotFound"
	ReasonStatsUnavailable    = "StatisticsUnavailable"
	ReasonCredentialsNotFound = "CredentialsNotFound"
	ReasonCredentialsInvalid  = "CredentialsInvalid"
	// ReasonCredentialsNotAllowed: the namespace may not use the platform's
	// credentials, or workload identity is not enabled.
	ReasonCredentialsNotAllowed = "CredentialsNotAllowed"
	// ReasonEndpointNotAllowed: spec.endpoint is not one the platform allows.
	ReasonEndpointNotAllowed = "EndpointNotAllowed"
	ReasonAuthFailed         = "AuthenticationFailed"
	ReasonInvalidRequest     = "InvalidRequest"
	ReasonInvalidConfig      = "InvalidConfiguration"
	ReasonThrottled          = "Throttled"
	ReasonServiceUnavailable = "ServiceUnavailable"
	ReasonSuspended          = "Suspended"
	ReasonKubernetesAPIError = "KubernetesAPIError"
	// ReasonImageLimitExceeded: the ImageScan matches more images than the
	// platform lets one ImageScan scan (the manager's --max-images-per-scan).
	ReasonImageLimitExceeded = "ImageLimitExceeded"
	// ReasonReportQuotaExceeded: the namespace's ResourceQuota on
	// count/imagereports.scan.hss.dev allows no report for another image.
	ReasonReportQuotaExceeded = "ReportQuotaExceeded"
)
