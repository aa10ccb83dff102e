// MethodRpc: an EventRpc (event_rpc.h) for any server-streaming method,
// called by name through gRPC's generic API (grpc::GenericStub, a callback
// ClientBidiReactor over ByteBuffers: the one request message is written
// with the half-close, then responses are read). Each response message is
// turned into an Event by the route's MethodCodec; one that does not parse
// as the method's response type cancels the call, which then ends with
// INTERNAL kUnparsableUpstream (as a message gRPC cannot parse does on an
// action route).
//
// Thread-safety: as every EventRpc (gRPC's reactor rules).
#ifndef SSEBRIDGE_FRONTEND_RELAY_METHOD_RPC_H_
#define SSEBRIDGE_FRONTEND_RELAY_METHOD_RPC_H_

#include <memory>
#include <string>

#include "frontend/relay/event_rpc.h"
#include "frontend/upstream/backend_pool.h"
#include "frontend/upstream/method_codec.h"

namespace ssebridge::frontend {

// `codec`'s method with the serialized `request` on the pick's generic
// stub, with `metadata`.
std::unique_ptr<EventRpc> MakeMethodRpc(
    const BackendPool::Pick& pick, std::shared_ptr<const MethodCodec> codec,
    std::string request, const CallMetadata& metadata);

}  // namespace ssebridge::frontend

#endif  // SSEBRIDGE_FRONTEND_RELAY_METHOD_RPC_H_
