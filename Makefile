# The front door: each target is a nox session (noxfile.py, scripts/workshop/) that installs
# what it needs (pinned) on first use. `make help` lists them.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
WORKSHOP := $(ROOT).venv-workshop
NOX := $(WORKSHOP)/bin/nox --noxfile $(ROOT)noxfile.py
.PHONY: help setup build-Function test test-arm64 fuzz reliability demo demo-events cfn-test lint build templates docs sam-build cdk-lib dist verify-release cdk-test bench bench-quick fleet fleet-quick fleet-scale localstack-start localstack-stop terraform

help:  ## these targets and what they do
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

# nox and uv, from hashed pins; uv makes every other venv.
$(WORKSHOP)/.installed: $(ROOT)scripts/requirements-workshop.txt
	rm -rf $(WORKSHOP)
	python3 -m venv $(WORKSHOP)
	$(WORKSHOP)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r $<
	cp $< $@

test: $(WORKSHOP)/.installed  ## every test: unit, IAM wire replays, the binary against LocalStack
	$(NOX) -s test

test-arm64: $(WORKSHOP)/.installed  ## the binary-level LocalStack suites against dist/'s arm64 bootstrap, under qemu-user
	$(NOX) -s test-arm64

fuzz: $(WORKSHOP)/.installed  ## the fuzz targets (event, properties, answer bodies), FUZZ_SECONDS each (default 30)
	$(NOX) -s fuzz

reliability: $(WORKSHOP)/.installed  ## every test, then publish what they tried and what held as RELIABILITY.md
	$(NOX) -s test
	cp target/RELIABILITY.md RELIABILITY.md

demo: $(WORKSHOP)/.installed  ## deploy the SAM app and stacks using it to LocalStack's CloudFormation; show events, outputs, roles
	$(NOX) -s demo

demo-events: $(WORKSHOP)/.installed  ## the function under cargo lambda watch, sent sample events: what it answers CloudFormation
	$(NOX) -s demo-events

cfn-test: $(WORKSHOP)/.installed  ## deployments to LocalStack's CloudFormation as tests: the executor, stacks, the CDK app
	$(NOX) -s cfn-test

setup: $(WORKSHOP)/.installed  ## the pinned tools and LocalStack with the plugins, once: then any suite runs alone (CONTRIBUTING.md)
	$(NOX) -s setup

lint: $(WORKSHOP)/.installed  ## every language linted, as CI runs it: rustfmt and clippy, shellcheck, ruff (lint and format)
	$(NOX) -s lint

build-Function: $(WORKSHOP)/.installed  ## what `sam build` runs (template.yaml's BuildMethod makefile): make build, its bootstrap into SAM's ARTIFACTS_DIR
	$(NOX) -s build
	cp $(ROOT)target/lambda/upsert-slr/bootstrap "$$ARTIFACTS_DIR/"

build: $(WORKSHOP)/.installed  ## the Lambda artifact, arm64 (ARCH=x86_64 for x86_64): target/lambda/upsert-slr/bootstrap and bootstrap.zip
	$(NOX) -s build

templates: $(WORKSHOP)/.installed  ## sam validate --lint, cfn-lint and Checkov on every template, and their agreement with the handler
	$(NOX) -s templates

terraform: $(WORKSHOP)/.installed  ## the Terraform module and examples: fmt, the AWS provider's schema, broken copies that must fail, the Pulumi type-check
	$(NOX) -s terraform

docs: $(WORKSHOP)/.installed  ## every example in README.md, CONTRIBUTING.md and docs/: YAML and JSON through cfn-lint and the ServiceTimeout check, commands and make targets exist, links resolve, Mermaid diagrams parse; the TypeScript and Python ones synthesize in make cdk-test
	$(NOX) -s docs

sam-build: $(WORKSHOP)/.installed  ## sam build, then the bootstrap it built: its architecture, and the integration tests on it
	$(NOX) -s sam-build

cdk-lib: $(WORKSHOP)/.installed  ## the construct library in cdk/, with the release function inside (examples/cdk uses it)
	$(NOX) -s cdk-lib

dist: $(WORKSHOP)/.installed  ## release artifacts in dist/: Lambda zips (arm64, x86_64), release template, SBOM, npm tarball, Python wheel and sdist, SHA256SUMS
	$(NOX) -s dist

verify-release: $(WORKSHOP)/.installed  ## rebuild the release zips from this commit in another directory and compare: with dist/SHA256SUMS, or FROM=<installed upsert-slr-cdk>
	FROM="$(FROM)" $(NOX) -s verify-release

cdk-test: $(WORKSHOP)/.installed  ## the construct library: synth tests, the packed artifacts in TypeScript and Python apps, the Provider framework driving the function
	$(NOX) -s cdk-test

bench: $(WORKSHOP)/.installed  ## this function against the npm package upsert-slr; writes BENCHMARKS.md
	$(NOX) -s bench

bench-quick: $(WORKSHOP)/.installed  ## the same with a few iterations, to check that it runs
	BENCH_QUICK=1 $(NOX) -s bench

fleet: $(WORKSHOP)/.installed  ## the function, then the role baseline, through StackSets into FLEET_ACCOUNTS x FLEET_REGIONS (10 x 2); checks, teardown, figures
	$(NOX) -s fleet

fleet-quick: $(WORKSHOP)/.installed  ## the same with a fleet of 3 accounts x 2 regions, as CI runs it
	FLEET_SIZES=3x2 $(NOX) -s fleet

fleet-scale: $(WORKSHOP)/.installed  ## fleets of 3 x 2, 10 x 2 and 25 x 2 in one run; writes FLEET.md
	FLEET_SIZES=3x2,10x2,25x2 FLEET_MARKDOWN=FLEET.md $(NOX) -s fleet

localstack-start: $(WORKSHOP)/.installed  ## a LocalStack for running single tests (prints its endpoint)
	@$(NOX) --non-interactive -s localstack -- start

localstack-stop: $(WORKSHOP)/.installed  ## the LocalStack localstack-start started
	$(NOX) -s localstack -- stop
