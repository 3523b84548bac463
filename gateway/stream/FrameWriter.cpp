#include "gateway/stream/FrameWriter.h"

namespace herald {

FrameWriter::SendStatus FrameWriter::enqueue(Frame frame) {
  if (closed_) {
    return SendStatus::closed;
  }
  if (pendingBytes_ + frame->size() > maxQueuedBytes_) {
    close();
    return SendStatus::overflow;
  }
  pendingBytes_ += frame->size();
  queue_.push_back(std::move(frame));
  return SendStatus::queued;
}

void FrameWriter::enqueueLast(Frame frame) {
  if (closed_) {
    return;
  }
  pendingBytes_ += frame->size();
  queue_.push_back(std::move(frame));
}

void FrameWriter::close() {
  closed_ = true;
  queue_.clear();
  queue_.shrink_to_fit();
}

void FrameWriter::startBatch() {
  inflight_.swap(queue_);
  buffers_.clear();
  for (const auto& frame : inflight_) {
    buffers_.emplace_back(frame->data(), frame->size());
  }
  writing_ = true;
  writeStartedAt_ = std::chrono::steady_clock::now();
}

void FrameWriter::finishBatch() {
  writing_ = false;
  for (const auto& frame : inflight_) {
    pendingBytes_ -= frame->size();
  }
  inflight_.clear();
}

}  // namespace herald
