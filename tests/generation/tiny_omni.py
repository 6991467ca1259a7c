"""A tiny random-weight Qwen3-Omni (10.9 M parameters) with an offline processor, saved as a checkpoint.

The real ``Qwen3OmniMoeForConditionalGeneration`` code runs end to end on it
(thinker → talker → code2wav), so the transformers backend is tested on CPU.
The tokenizer is byte-level with the special tokens at Qwen's own ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

VOCAB = 151_936
SPECIAL = {
    "<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645, "<|audio_pad|>": 151646,
    "<|audio_start|>": 151647, "<|audio_end|>": 151648, "<|vision_start|>": 151652,
    "<|vision_end|>": 151653, "<|image_pad|>": 151655, "<|video_pad|>": 151656,
    "<tts_pad>": 151671, "<tts_text_bos>": 151672, "<tts_text_eod>": 151673,
}  # fmt: skip
ROLES = {"system": 8948, "user": 872, "assistant": 77091}  # the role words are single tokens in Qwen
ROLE_TOKENS = {
    "image_token": "<|image_pad|>", "audio_token": "<|audio_pad|>", "video_token": "<|video_pad|>",
    "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>",
    "audio_bos_token": "<|audio_start|>", "audio_eos_token": "<|audio_end|>",
}  # fmt: skip
TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}{% for p in m['content'] %}"
    "{% if p['type'] == 'text' %}{{ p['text'] }}"
    "{% elif p['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif p['type'] == 'audio' %}<|audio_start|><|audio_pad|><|audio_end|>{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
HIDDEN = 32


def _tokenizer() -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {char: index for index, char in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    for index in range(len(vocab), VOCAB):
        vocab[f"<|x{index}|>"] = index
    by_id = {index: token for token, index in vocab.items()}
    for token, index in {**SPECIAL, **ROLES}.items():
        del vocab[by_id[index]]
        vocab[token] = index
    model = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    model.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    model.decoder = decoders.ByteLevel()
    model.add_tokens([AddedToken(role, special=False, normalized=False) for role in ROLES])
    model.add_special_tokens([AddedToken(token, special=True, normalized=False) for token in SPECIAL])
    return PreTrainedTokenizerFast(
        tokenizer_object=model,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=ROLE_TOKENS,
    )


def _moe(vocab: int) -> dict[str, Any]:
    rope = {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [4, 2, 2], "interleaved": True}
    return dict(vocab_size=vocab, hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, num_key_value_heads=1, moe_intermediate_size=32, num_experts=4,
                num_experts_per_tok=2, rope_parameters=rope)  # fmt: skip


def _config() -> Any:
    from transformers import Qwen3OmniMoeConfig

    thinker = {
        "text_config": _moe(VOCAB),
        "audio_config": dict(num_mel_bins=128, encoder_layers=1, encoder_attention_heads=2,
                             encoder_ffn_dim=64, d_model=HIDDEN, output_dim=HIDDEN,
                             downsample_hidden_size=32),
        "vision_config": dict(depth=1, hidden_size=HIDDEN, intermediate_size=64, num_heads=2,
                              out_hidden_size=HIDDEN, deepstack_visual_indexes=[0], patch_size=16),
    }  # fmt: skip
    talker = dict(
        text_config=_moe(3072),
        code_predictor_config=dict(vocab_size=2048, hidden_size=HIDDEN, intermediate_size=64,
                                   num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
                                   head_dim=16, num_code_groups=4),
        num_code_groups=4, thinker_hidden_size=HIDDEN, accept_hidden_layer=1,
        speaker_id={"ethan": 2302, "chelsie": 2301, "aiden": 2303},
        codec_eos_token_id=2150, codec_nothink_id=2155, codec_think_bos_id=2156, codec_think_eos_id=2157,
        codec_pad_id=2148, codec_bos_id=2149,
    )  # fmt: skip
    code2wav = dict(hidden_size=HIDDEN, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                    num_key_value_heads=2, num_quantizers=4, decoder_dim=32, codebook_size=2048)  # fmt: skip
    config = Qwen3OmniMoeConfig(thinker_config=thinker, talker_config=talker, code2wav_config=code2wav)
    # fields the modeling code reads but the config classes do not declare
    config.talker_config.text_config.shared_expert_intermediate_size = 32
    config.talker_config.spatial_merge_size = 2
    thinker_config = config.thinker_config
    thinker_config.vision_start_token_id, thinker_config.vision_end_token_id = 151652, 151653
    thinker_config.audio_start_token_id, thinker_config.audio_end_token_id = 151647, 151648
    return config


def build(folder: Path) -> Path:
    """Save the tiny model and its processor to ``folder`` (as from_pretrained expects)."""
    import torch
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
        Qwen3OmniMoeForConditionalGeneration,
        Qwen3OmniMoeProcessor,
        WhisperFeatureExtractor,
    )

    processor = Qwen3OmniMoeProcessor(
        image_processor=Qwen2VLImageProcessor(patch_size=16),
        video_processor=Qwen2VLVideoProcessor(patch_size=16),
        feature_extractor=WhisperFeatureExtractor(feature_size=128),
        tokenizer=_tokenizer(),
        chat_template=TEMPLATE,
    )
    torch.manual_seed(0)
    model = Qwen3OmniMoeForConditionalGeneration(_config())
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if ".experts." in name:  # transformers leaves the talker's fused experts uninitialised
                parameter.normal_(0.0, 0.02)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
