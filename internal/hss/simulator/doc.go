// Package simulator is a fake of the Huawei Cloud HSS container-image API,
// served over real HTTP so the SDK-based client is tested end to end. It
// does not share code with the client; it speaks only HTTP and JSON, using
// the SDK's model structs for bodies and the SDK's signer to check AK/SK
// signatures.
//
// Endpoints (paths as services/hss/v5 sends them):
//
//	POST /v5/{project_id}/image/batch-scan
//	GET  /v5/{project_id}/image/swr-repository
//	GET  /v5/{project_id}/image/{image_id}/files-statistics
//	POST /v5/{project_id}/image/synchronize
//	POST /v5/{project_id}/image/image-scan/tasks, /image/image-sync/tasks
//	GET  /v5/{project_id}/image/tasks, /image/registries/images
//	GET  /v5/{project_id}/image/{image_id}/vulnerabilities
//	GET  /v5/{project_id}/image/vulnerability/{vul_id}/cve
//	GET  /v5/{project_id}/images/vulnerabilities (the catalogue)
//	POST /v5/{project_id}/image/vulnerability/handle (ignore, not_ignore)
//
// Typical use in a test:
//
//	clk := clocktesting.NewFakeClock(start)
//	sim := simulator.New(simulator.Config{ProjectID: "p", Clock: clk,
//		Credentials: map[string]simulator.Credential{"AK": {SK: "SK"}},
//		QueueDelay: time.Second, ScanDuration: time.Minute})
//	sim.AddImages(simulator.Generate(100, 1)...)
//	srv := httptest.NewServer(sim)
//	... clk.Step(2 * time.Minute) ...
//	sim.Count(simulator.OpBatchScan, simulator.OutcomeOK)
//
// Request handling, in order: fault injection (see Faults and FailNext);
// unknown path or method → 404 APIGW.0101; authentication → 401 APIGW.0301;
// project_id other than Config.ProjectID → 403 HSS.1006; missing region
// header → 400 HSS.1001 (required on all four calls, although the reference
// marks it optional for batch-scan); then the operation. Every answer has a
// unique X-Request-Id header and a Date header from the simulator's Clock (the
// clock its scan times are on, which need not be the client's), and errors are
// {"error_code","error_msg"}.
//
// Error codes chosen by the simulator (gateway codes are the real ones):
//
//	400 HSS.1001   invalid or missing parameter, body or region header
//	400 HSS.1005   files-statistics for an image whose scan has not ended success
//	403 HSS.1006   project_id not the configured project
//	404 HSS.1004   files-statistics for an unknown image_id
//	404 APIGW.0101 no such API
//	401 APIGW.0301 bad AK/SK signature, unknown AK, wrong security token, bad token
//	429 APIG.0308  quota exceeded, with Retry-After in seconds
//	500 HSS.0500, 503 HSS.0503  injected server errors
//
// Authentication: AK/SK requests are re-signed with the SDK's own signer
// (SDK-HMAC-SHA256 only; X-Sdk-Date must be present but is not compared with
// the clock, so fake clocks work). An AK configured with a SecurityToken
// needs the same X-Security-Token; other AKs must not send one.
//
// Scans: an image starts unscan; a batch-scan that matches it moves it to
// waiting_for_scan, to scanning after QueueDelay, and to its outcome after
// ScanDuration more, when latest_scan_time is set. States are derived from
// the Clock on every read, never from timers. The outcome is success, or
// with probability FailureRate failed, download_failed or image_oversized
// with a scan_failed_desc, chosen by hashing Seed, image id and scan number;
// Image.ForcedOutcome overrides it. A batch-scan skips images already
// waiting or scanning and restarts finished ones.
//
// Filters are described on Filter; list and batch-scan share them. Only
// images Unsynced=false are visible to the API until synchronize is called
// for their type. files-statistics needs the image's current status to be
// success and answers its FilesNum and FilesSize.
//
// Counts, Count, BatchScans and ResetCounts expose what clients did.
package simulator
