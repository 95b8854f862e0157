//! Host bindings for the Spin interfaces in `wit/spin.wit`.

wasmtime::component::bindgen!({
    path: "wit",
    world: "host",
    with: {
        "fermyon:spin/key-value.store": crate::kv::StoreHandle,
    },
});
