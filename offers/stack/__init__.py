"""The local stack: a real Kafka broker (KRaft) and Redis as child processes."""

from offers.stack.local import LocalStack, StackState, read_state, stack_status

__all__ = ["LocalStack", "StackState", "read_state", "stack_status"]
