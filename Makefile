# Image and tool versions are pinned here, and only here.
# IMAGE_NAME is the image config/manager names; IMG is what make image tags
# and make installer writes into dist/install.yaml.
IMAGE_NAME = ghcr.io/hss-dev/imagescan-operator
IMG ?= $(IMAGE_NAME):latest
ENVTEST_K8S_VERSION ?= 1.37.2
ENVTEST_ETCD_VERSION ?= 3.6.16
SETUP_ENVTEST_VERSION ?= v0.25.1
KUSTOMIZE_VERSION ?= v5.8.2
# Fuzzing budget per target, as a count: Go 1.26's fuzz coordinator can fail a
# timed run spuriously at its deadline (golang/go#75804, fixed in Go 1.27).
FUZZTIME ?= 10000x

# Platforms of make image; the first is also the docker-loadable tarball's.
PLATFORMS ?= linux/amd64 linux/arm64
# Every file and the image itself are stamped with this time (Unix seconds):
# the last commit's, so the same source gives the same digest.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

CONTROLLER_GEN = go tool controller-gen
# Release tools live in their own module (hack/tools) so that their
# dependencies never move the operator's; built once into bin/.
CRANE = $(CURDIR)/bin/crane
HELM = $(CURDIR)/bin/helm
KUSTOMIZE = go run sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
export ENVTEST_K8S_VERSION ENVTEST_ETCD_VERSION SETUP_ENVTEST_VERSION

# Generated files: never edited by hand, checked by verify-generated.
GENERATED = config/crd/bases config/openreports/openreports.io_reports.yaml config/rbac/role.yaml config/workload-identity/role.yaml api/v1alpha1/zz_generated.deepcopy.go \
	charts/imagescan-operator/templates/crd charts/imagescan-operator/templates/rbac/manager-role.yaml \
	charts/imagescan-operator/templates/rbac/workload-identity-role.yaml charts/imagescan-operator/templates/rbac/user-roles.yaml \
	charts/imagescan-operator/templates/prometheusrule.yaml

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-20s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRD and RBAC manifests from the Go markers; copy the OpenReports CRD from its module.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="{./api/...,./internal/controller/...}" output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=workload-identity-role paths="./internal/identity/..." output:rbac:dir=config/workload-identity
	cp "$$(go list -m -f '{{.Dir}}' github.com/openreports/reports-api)/config/crd/openreports.io_reports.yaml" config/openreports/
	chmod 644 config/openreports/openreports.io_reports.yaml
	./hack/chart-sync.sh

.PHONY: generate
generate: ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: verify-generated
verify-generated: ## Fail if the generated files differ from a fresh generation.
	@before=$$(find $(GENERATED) -type f | sort | xargs sha256sum); \
	$(MAKE) --no-print-directory -s manifests generate; \
	after=$$(find $(GENERATED) -type f | sort | xargs sha256sum); \
	if [ "$$before" != "$$after" ]; then \
	  echo "generated files were stale; they are regenerated now, commit them:"; \
	  diff <(echo "$$before") <(echo "$$after") || true; exit 1; fi

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet on the operator and its release tools.
	go vet ./...
	go -C hack/tools vet ./...

.PHONY: envtest
envtest: ## Put kube-apiserver and etcd for tests into bin/ (downloaded, else built once from the module proxy).
	@./hack/setup-envtest.sh >/dev/null

.PHONY: test
test: vet verify-generated envtest image installer tools ## Vet, check generated files, run every test on a real API server (the release artefacts too), and fuzz briefly.
	KUBEBUILDER_ASSETS="$$(./hack/setup-envtest.sh)" go test ./... -count=1
	$(MAKE) --no-print-directory test-tasks
	KUBEBUILDER_ASSETS="$$(./hack/setup-envtest.sh)" go -C hack/tools test $$(go -C hack/tools list ./... | grep -v /e2e$$) -count=1
	$(MAKE) --no-print-directory fuzz
	@if [ "$(E2E)" = yes ]; then $(MAKE) --no-print-directory e2e; \
	elif [ -n "$$CI" ]; then echo "make test: CI must run the one-node cluster tests, which need root on Linux"; exit 1; \
	else echo "make test: the one-node cluster tests need root on Linux: skipped here (make e2e runs them)"; fi

.PHONY: test-quick
test-quick: vet verify-generated envtest ## The operator's own tests on a real API server, without building the release artefacts or fuzzing.
	KUBEBUILDER_ASSETS="$$(./hack/setup-envtest.sh)" go test ./... -count=1
	$(MAKE) --no-print-directory test-tasks

.PHONY: test-unit
test-unit: ## The tests that need no API server (go test -short): the decisions as tables, the HSS client over HTTP against the simulator, the simulator; Go is all it needs.
	go test -short ./... -count=1

.PHONY: test-tasks
test-tasks: envtest ## The reconciler's suite again, on the task calls that succeed the deprecated batch-scan.
	HSS_TEST_BACKEND=tasks KUBEBUILDER_ASSETS="$$(./hack/setup-envtest.sh)" go test ./internal/controller/ -count=1

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME.
	@for pkg in $$(go list ./...); do \
	  for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; go test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME); \
	  done; done

##@ Build

.PHONY: build
build: manifests generate ## Build the manager binary.
	go build -o bin/manager .

.PHONY: run
run: manifests generate ## Run the manager against the current kubeconfig.
	go run . $(ARGS)

.PHONY: simulator
simulator: ## Run the HSS simulator on 127.0.0.1:8088.
	go run ./hack/hss-simulator $(ARGS)

.PHONY: demo
demo: envtest ## Run the operator, the HSS simulator and an API server in one process and follow a sample ImageScan to Ready.
	KUBEBUILDER_ASSETS="$$(./hack/setup-envtest.sh)" go run ./hack/demo $(ARGS)

.PHONY: bench
bench: envtest ## Measure the reconciler against the HSS simulator; figures in docs/benchmarks.md.
	KUBEBUILDER_ASSETS="$$(./hack/setup-envtest.sh)" go run ./hack/bench $(ARGS)

.PHONY: image
image: ## Build the multi-platform manager image into dist/ (OCI layout and docker tarball), without Docker.
	@mkdir -p dist/bin
	@set -e; args=""; for p in $(PLATFORMS); do \
	  os=$${p%/*}; arch=$${p#*/}; out=dist/bin/manager-$$os-$$arch; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch go build -trimpath -ldflags "-s -w" -o $$out . ; \
	  args="$$args --binary $$p=$(CURDIR)/$$out"; done; \
	go -C hack/tools run ./image --ref $(IMG) --created $(SOURCE_DATE_EPOCH) \
	  --layout $(CURDIR)/dist/image --tar $(CURDIR)/dist/image.tar $$args | tee dist/image.digest

# The simulator's image, for a cluster's Pods to reach it (make e2e).
SIMULATOR_IMG ?= ghcr.io/hss-dev/hss-simulator:latest

.PHONY: simulator-image
simulator-image: ## Build the HSS simulator's image into dist/simulator.tar, without Docker.
	@mkdir -p dist/bin
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" -o dist/bin/hss-simulator-linux-amd64 ./hack/hss-simulator
	go -C hack/tools run ./image --program hss-simulator --title hss-simulator --ref $(SIMULATOR_IMG) --created $(SOURCE_DATE_EPOCH) \
	  --tar $(CURDIR)/dist/simulator.tar --binary linux/amd64=$(CURDIR)/dist/bin/hss-simulator-linux-amd64

.PHONY: push
push: tools ## Publish dist/image (from make image) as IMG with crane; log in first with bin/crane auth login.
	$(CRANE) push dist/image $(IMG)

.PHONY: tools
tools: $(CRANE) $(HELM) ## Build the release tools (crane, helm) into bin/.

$(CRANE): hack/tools/go.mod
	go -C hack/tools build -o $(CRANE) github.com/google/go-containerregistry/cmd/crane

$(HELM): hack/tools/go.mod
	go -C hack/tools build -o $(HELM) helm.sh/helm/v3/cmd/helm

.PHONY: docker-build
docker-build: ## Build the manager image with a Docker engine (same user, entrypoint and flags as make image).
	docker build -t $(IMG) .

##@ A one-node cluster (root on Linux)

# The node's Kubernetes binaries, built like kube-apiserver, at its version.
CLUSTER_BINARIES = kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy kubectl

.PHONY: cluster-binaries
cluster-binaries: envtest ## Build the node's Kubernetes binaries into bin/k8s/<version> from the module proxy (once; about 12 minutes cold).
	./hack/kube-build.sh "$$(./hack/setup-envtest.sh)" $(ENVTEST_K8S_VERSION) $(CLUSTER_BINARIES)

.PHONY: node-tools
node-tools: ## Build the cluster's supervisor (bin/node) and pause program (bin/pause).
	go -C hack/tools build -o $(CURDIR)/bin/node ./onenode/node
	CGO_ENABLED=0 go -C hack/tools build -trimpath -ldflags "-s -w" -o $(CURDIR)/bin/pause ./onenode/cluster/pause

.PHONY: cluster-up
cluster-up: cluster-binaries node-tools ## Start the one-node cluster in its own network namespace (installs containerd, runc and the CNI plugins where missing).
	bin/node up

.PHONY: cluster-down
cluster-down: ## Stop the one-node cluster and remove every trace of it.
	@if [ -x bin/node ]; then bin/node down; fi

# The one-node cluster's tests run in make test where a cluster can run:
# as root on Linux.
E2E ?= $(shell [ "$$(uname -s)" = Linux ] && [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: e2e
e2e: cluster-binaries node-tools image simulator-image tools ## Install the operator into the one-node cluster as a user would (install.yaml, then Helm) and test it end to end.
	@bin/node down
	@rc=0; go -C hack/tools test ./onenode/e2e -count=1 -timeout 30m -v || rc=$$?; \
	  bin/node down; exit $$rc

##@ Deployment

.PHONY: install
install: manifests ## Install the CRD into the current cluster.
	$(KUSTOMIZE) build config/crd | kubectl apply -f -

.PHONY: installer
installer: manifests ## Write dist/install.yaml (CRD, RBAC, manager) for IMG, the manager flags in MANAGER_ARGS and the opt-in parts in INSTALL_PARTS, without editing tracked files.
	@rm -rf dist/installer && mkdir -p dist/installer
	@sed 's|^\(#\{0,1\}\)- \.\./|\1- ../../config/|' config/default/kustomization.yaml > dist/installer/kustomization.yaml
	@for p in $(INSTALL_PARTS); do \
	  grep -qx "#- ../../config/$$p" dist/installer/kustomization.yaml || { echo "config/default lists no opt-in part $$p"; exit 1; }; \
	  sed -i "s|^#- ../../config/$$p\$$|- ../../config/$$p|" dist/installer/kustomization.yaml; done
	@if [ -n "$(MANAGER_ARGS)" ]; then \
	  printf 'patches:\n- target: {kind: Deployment}\n  patch: |-\n' >> dist/installer/kustomization.yaml; \
	  for a in $(MANAGER_ARGS); do \
	    printf '    - {op: add, path: /spec/template/spec/containers/0/args/-, value: "%s"}\n' "$$a" >> dist/installer/kustomization.yaml; \
	  done; fi
	cd dist/installer && $(KUSTOMIZE) edit set image $(IMAGE_NAME)=$(IMG)
	$(KUSTOMIZE) build dist/installer > dist/install.yaml
	@echo "wrote dist/install.yaml for $(IMG)"

.PHONY: deploy
deploy: installer ## Install the operator into the current cluster from dist/install.yaml.
	kubectl apply --server-side -f dist/install.yaml

.PHONY: undeploy
undeploy: installer ## Remove the operator (and its CRD, with every ImageScan) from the current cluster.
	kubectl delete --ignore-not-found -f dist/install.yaml
