//! Counting requests in flight: a guard that increments on creation and decrements however the
//! request ends (answered, failed, or dropped), so a Stop can wait for the count to reach zero.

use std::cell::Cell;
use std::rc::Rc;

pub struct InFlight(Rc<Cell<usize>>);

impl InFlight {
    pub fn new(counter: &Rc<Cell<usize>>) -> Self {
        counter.set(counter.get() + 1);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}
