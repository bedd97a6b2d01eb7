//! The first difference between two traces, line by line.

use super::Trace;

impl Trace {
    /// The index of the first event line that differs between the two traces
    /// (headers are not compared), with each side's rendered line (without
    /// newline; `None` where that side has no more events). `None` if all
    /// event lines are equal.
    pub fn first_difference(
        &self,
        other: &Trace,
    ) -> Option<(usize, Option<String>, Option<String>)> {
        let (mut a, mut b) = (self.events(), other.events());
        let mut index = 0;
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
