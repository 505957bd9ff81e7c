//! The audit log, checked for [`verify`](crate::verify()): its hash chain
//! up to its recorded head, and its stored checkpoints' numbering, links
//! and agreement with the chain.

use super::{check, AuditProblemKind};
use crate::error::Result;
use crate::verify::report::{ProblemKind, Verifier};

/// The audit log's hash chain, up to its recorded head, and its stored
/// checkpoints' numbering and links, and agreement with the chain. Without
/// the trusted key their signatures cannot be checked here:
/// `Reader::verify_audit` does that.
pub(crate) fn chain(v: &mut Verifier<'_>) -> Result<()> {
    let report = check(v.conn, None, &[])?;
    for problem in report.problems() {
        let kind = match problem.kind {
            AuditProblemKind::Entry => ProblemKind::AuditChain,
            _ => ProblemKind::AuditCheckpoint,
        };
        v.report.add(kind, problem.to_string());
    }
    Ok(())
}
