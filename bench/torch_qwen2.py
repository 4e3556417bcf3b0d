"""The random Qwen2 both PyTorch references build (bench/train_torch.py, bench/model_torch.py): float32, tied embeddings,
PyTorch's scaled_dot_product_attention (SDPA: its fused CPU kernel; never a [heads, L, L] tensor kept for the backward)."""
import torch
import transformers


def random_qwen2(c: dict) -> transformers.Qwen2ForCausalLM:
    torch.manual_seed(0)
    config = transformers.Qwen2Config(
        hidden_size=c["hidden"], num_hidden_layers=c["layers"], num_attention_heads=c["heads"],
        num_key_value_heads=c["kvHeads"], intermediate_size=c["intermediate"], vocab_size=c["vocab"],
        max_position_embeddings=32768, tie_word_embeddings=True, torch_dtype="float32", attn_implementation="sdpa",
    )
    return transformers.Qwen2ForCausalLM(config).float()
