// Package triage decides, without an API server, what the namespace's
// VulnerabilityExceptions do to an image's results: whether an exception
// is in force, which images and results it accepts, which results are new
// since the round before, and the counts the reports show.
package triage
