//! The first difference between two traces, line by line.

use super::Trace;

impl Trace {
    /// The index of the first event line that differs between the two traces
    /// (headers are not compared), with each side's rendered line (without
    /// newline; `None` where that side has no more events). `None` if all
    /// event lines are equal.
    ///
    /// For traces whose oldest events left memory (see [`Trace::is_truncated`]), the
    /// index counts from the run's first event. When the two differ before their
    /// windows, the index is 0 and both lines say where the difference lies.
    pub fn first_difference(
        &self,
        other: &Trace,
    ) -> Option<(usize, Option<String>, Option<String>)> {
        // Line the two windows up: both must cover the run from the later of their two
        // cuts, and agree (by digest) on everything before it.
        let cut = self.spilled_events().max(other.spilled_events());
        // (Nothing spilled on either side: no head to compare; headers are not compared.)
        let heads_differ = cut > 0 && {
            let (mine, theirs) = (self.digest_through(cut), other.digest_through(cut));
            mine.is_none() || mine != theirs
        };
        if heads_differ {
            let line = format!(
                "(a difference within the first {cut} events, which are no longer in memory: \
                 stream both runs' traces to files to compare them whole)"
            );
            return Some((0, Some(line.clone()), Some(line)));
        }
        let mut a = self.events().skip(cut - self.spilled_events());
        let mut b = other.events().skip(cut - other.spilled_events());
        let mut index = cut;
        loop {
            let left = a.next().map(|e| self.line(&e));
            let right = b.next().map(|e| other.line(&e));
            if left.is_none() && right.is_none() {
                return None;
            }
            if left != right {
                return Some((index, left, right));
            }
            index += 1;
        }
    }
}
