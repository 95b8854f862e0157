//! `fermyon:spin/variables@2.0.0`: the component's variables from spin.toml.

use crate::bindings::fermyon::spin::variables::{self, Error};
use crate::state::HostState;

impl variables::Host for HostState {
    fn get(&mut self, name: String) -> Result<String, Error> {
        self.app
            .variables
            .get(&name)
            .cloned()
            .ok_or(Error::Undefined(name))
    }
}
