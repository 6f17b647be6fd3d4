# Every target installs what it needs (pinned) on first use.
.PHONY: test demo lint build bench bench-quick localstack-start localstack-stop

test:  ## every test: unit, IAM wire replays, the binary against LocalStack
	scripts/test.sh

demo:  ## run the function locally against LocalStack and show what CloudFormation receives
	scripts/demo.sh

lint:  ## what CI checks besides the tests
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

build:  ## the Lambda artifact: target/lambda/upsert-slr/bootstrap
	scripts/build.sh

bench:  ## this function against the npm package upsert-slr; writes BENCHMARKS.md
	scripts/bench.sh

bench-quick:  ## the same with a few iterations, to check that it runs
	BENCH_QUICK=1 scripts/bench.sh

localstack-start:  ## a LocalStack for running single tests (prints its endpoint)
	@scripts/localstack.sh start

localstack-stop:
	scripts/localstack.sh stop
