//! Trust under IAM's real rules and CloudFormation's everyday stack changes, against their
//! exact wire answers. One module per concern: `existence` (whichever way IAM says a role is
//! missing; owners no event can forge), `deletes` (only what CloudFormation confirms) and
//! `adoption` (exactly the asked name, transient answers retried, what an adopter learns).

// The suites' one shared module; this suite is a folder, so the module is named by path.
#[path = "../support/mod.rs"]
mod support;

mod adoption;
mod deletes;
mod existence;
