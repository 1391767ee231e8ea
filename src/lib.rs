//! ferrotls placeholder
