# Every target installs what it needs (pinned) on first use.
.PHONY: setup build-Function test test-arm64 fuzz reliability demo demo-events cfn-test lint build templates docs sam-build cdk-lib dist verify-release cdk-test bench bench-quick fleet fleet-quick fleet-scale localstack-start localstack-stop

test:  ## every test: unit, IAM wire replays, the binary against LocalStack
	scripts/test.sh

test-arm64:  ## the binary-level LocalStack suites against dist/'s arm64 bootstrap, under qemu-user
	scripts/test-arm64.sh

fuzz:  ## the fuzz targets (event, properties, answer bodies), FUZZ_SECONDS each (default 30)
	scripts/fuzz.sh

reliability:  ## every test, then publish what they tried and what held as RELIABILITY.md
	scripts/test.sh
	cp target/RELIABILITY.md RELIABILITY.md

demo:  ## deploy the SAM app and stacks using it to LocalStack's CloudFormation; show events, outputs, roles
	scripts/demo.sh

demo-events:  ## the function under cargo lambda watch, sent sample events: what it answers CloudFormation
	scripts/demo-events.sh

cfn-test:  ## deployments to LocalStack's CloudFormation as tests: the executor, stacks, the CDK app
	scripts/cfn-test.sh

setup:  ## the pinned tools and LocalStack with the plugins, once: then any suite runs alone (CONTRIBUTING.md)
	scripts/setup.sh

lint:  ## every language linted, as CI runs it: rustfmt and clippy, shellcheck, ruff (lint and format)
	scripts/lint.sh

build-Function:  ## what `sam build` runs (template.yaml's BuildMethod makefile): make build, its bootstrap into SAM's ARTIFACTS_DIR
	scripts/build.sh
	cp target/lambda/upsert-slr/bootstrap "$$ARTIFACTS_DIR/"

build:  ## the Lambda artifact, arm64 (ARCH=x86_64 for x86_64): target/lambda/upsert-slr/bootstrap and bootstrap.zip
	scripts/build.sh

templates:  ## sam validate --lint, cfn-lint and Checkov on every template, and their agreement with the handler
	scripts/check-templates.sh

docs:  ## every example in README.md, CONTRIBUTING.md and docs/: YAML and JSON through cfn-lint and the ServiceTimeout check, commands and make targets exist, links resolve, Mermaid diagrams parse; the TypeScript and Python ones synthesize in make cdk-test
	scripts/check-docs.sh

sam-build:  ## sam build, then the bootstrap it built: its architecture, and the integration tests on it
	scripts/sam-build.sh

cdk-lib:  ## the construct library in cdk/, with the release function inside (examples/cdk uses it)
	scripts/cdk-lib.sh

dist:  ## release artifacts in dist/: Lambda zips (arm64, x86_64), release template, SBOM, npm tarball, Python wheel and sdist, SHA256SUMS
	scripts/cdk-dist.sh

verify-release:  ## rebuild the release zips from this commit in another directory and compare: with dist/SHA256SUMS, or FROM=<installed upsert-slr-cdk>
	FROM="$(FROM)" scripts/verify-release.sh

cdk-test:  ## the construct library: synth tests, the packed artifacts in TypeScript and Python apps, the Provider framework driving the function
	scripts/cdk-test.sh

bench:  ## this function against the npm package upsert-slr; writes BENCHMARKS.md
	scripts/bench.sh

bench-quick:  ## the same with a few iterations, to check that it runs
	BENCH_QUICK=1 scripts/bench.sh

fleet:  ## the function, then the role baseline, through StackSets into FLEET_ACCOUNTS x FLEET_REGIONS (10 x 2); checks, teardown, figures
	scripts/fleet.sh

fleet-quick:  ## the same with a fleet of 3 accounts x 2 regions, as CI runs it
	FLEET_SIZES=3x2 scripts/fleet.sh

fleet-scale:  ## fleets of 3 x 2, 10 x 2 and 25 x 2 in one run; writes FLEET.md
	FLEET_SIZES=3x2,10x2,25x2 FLEET_MARKDOWN=FLEET.md scripts/fleet.sh

localstack-start:  ## a LocalStack for running single tests (prints its endpoint)
	@scripts/localstack.sh start

localstack-stop:
	scripts/localstack.sh stop
