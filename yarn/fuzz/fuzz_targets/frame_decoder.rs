//! Fuzzes the RPC frame decoders: splitting a frame into delimited messages, decoding every header
//! type from it, and taking frames off a plaintext stream buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yarn::ipc::frame::{decode_part, split_delimited, take_frame};
use yarn::proto::hadoop::common::{
    IpcConnectionContextProto, RequestHeaderProto, RpcRequestHeaderProto, RpcResponseHeaderProto,
    RpcSaslProto,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(parts) = split_delimited(data) {
        let _ = decode_part::<RpcRequestHeaderProto>(&parts, 0, "request header");
        let _ = decode_part::<RpcResponseHeaderProto>(&parts, 0, "response header");
        let _ = decode_part::<RequestHeaderProto>(&parts, 1, "request header");
        let _ = decode_part::<RpcSaslProto>(&parts, 1, "SASL message");
        let _ = decode_part::<IpcConnectionContextProto>(&parts, 1, "connection context");
    }
    let mut buffer = data.to_vec();
    while let Ok(Some(_)) = take_frame(&mut buffer, 1 << 20) {}
});
