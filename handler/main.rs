use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

// One event at a time per Lambda sandbox: a single-threaded runtime starts faster and uses
// less memory than a worker pool.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    upsert_slr::logging::init();
    let deps = upsert_slr::Deps::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        upsert_slr::handle(deps.clone(), event)
    }))
    .await
}
