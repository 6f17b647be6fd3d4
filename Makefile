# Every target installs what it needs (pinned) on first use.
.PHONY: test demo lint build cdk-test localstack-start localstack-stop

test:  ## every test: unit, IAM wire replays, the binary against LocalStack
	scripts/test.sh

demo:  ## run the function locally against LocalStack and show what CloudFormation receives
	scripts/demo.sh

lint:  ## what CI checks besides the tests
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

build:  ## the Lambda artifact: target/lambda/upsert-slr/bootstrap
	scripts/build.sh

cdk-test:  ## the CDK construct (examples/cdk): synth tests, and the Provider framework driving the function
	scripts/cdk-test.sh

localstack-start:  ## a LocalStack for running single tests (prints its endpoint)
	@scripts/localstack.sh start

localstack-stop:
	scripts/localstack.sh stop
