//! Vendor configurations (LLM, TTS, STT, avatar, MLLM) for the agentkit.
