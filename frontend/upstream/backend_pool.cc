#include "frontend/upstream/backend_pool.h"

namespace ssebridge::frontend {

grpc::ChannelArguments BackendChannelArgs(int index, int stream_window_bytes) {
  grpc::ChannelArguments args;
  // A fixed window per call: BDP probing would grow it to whatever the
  // connection can carry, and a saturated stream's delay with it.
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, stream_window_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 * 1024 * 1024);
  // Distinct channels must not share one subchannel (connection).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("ssebridge.channel_index", index);
  args.SetServiceConfigJSON(R"({"loadBalancingConfig":[{"round_robin":{}}]})");
  return args;
}

BackendPool::BackendPool(std::string name, const std::string& target,
                         int channels, int stream_window_bytes)
    : name_(std::move(name)) {
  if (channels < 1) channels = 1;
  for (int i = 0; i < channels; ++i) {
    auto ch =
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                  BackendChannelArgs(i, stream_window_bytes));
    ch->GetState(/*try_to_connect=*/true);  // connect eagerly
    stubs_.push_back(ssebridge::action::v1::ActionService::NewStub(ch));
    generic_stubs_.push_back(std::make_unique<grpc::GenericStub>(ch));
    channels_.push_back(std::move(ch));
  }
}

BackendPool::Pick BackendPool::Next() {
  const uint32_t i =
      next_.fetch_add(1, std::memory_order_relaxed) % channels_.size();
  return {channels_[i].get(), stubs_[i].get(), generic_stubs_[i].get(),
          &calls_in_flight_};
}

}  // namespace ssebridge::frontend
