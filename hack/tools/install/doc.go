// Package install tests what a platform team installs: the image that
// make image builds, the dist/install.yaml that make installer writes, and
// the Helm chart. Each test uses the real artefact against a real API
// server (envtest) and the HSS simulator; make test builds them first.
package install
