//! What an endpoint outputs, whatever its protocol: input segments grouped to the endpoint's
//! segment duration ([`group`]) and the representations it offers ([`representations`]).

pub mod group;
pub mod representations;
