# Copyright (c) sak_mm contributors. All rights reserved.
"""Teacher wrappers on tiny random-init models of each family, with weights
written to temp files in each family's release format and loaded back
through the real loading path."""
import pytest
import torch
import torch.nn.functional as F

from sak_mm.models.data_preprocessor import IMAGENET_MEAN, IMAGENET_STD
from sak_mm.models.teachers.clip import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from sak_mm.models.teachers.sam import resize_longest_and_pad
from sak_mm.models.utils.weights import (WeightsMismatchError,
                                         resize_grid_embedding)
from sak_mm.registry import MODELS
from tests.conftest import CROP, tiny_teachers


def imagenet_normalised(b=2):
    raw = torch.rand(b, 3, *CROP) * 255
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return raw, (raw - mean) / std


def assert_frozen(teacher):
    assert not teacher.training
    teacher.train()
    assert not teacher.training and not teacher.model.training
    assert all(not p.requires_grad for p in teacher.parameters())


def test_dinov2_teacher_loads_mmpretrain_checkpoint(tmp_path):
    cfg = tiny_teachers()['dinov2']
    src = MODELS.build(cfg)
    state = {'backbone.' + k: v for k, v in src.model.state_dict().items()}
    state['backbone.ln1.weight'] = torch.ones(24)  # final norm: not used
    state['head.fc.weight'] = torch.ones(3, 24)  # classifier: not used
    path = tmp_path / 'dinov2.pth'
    torch.save({'meta': {}, 'state_dict': state}, path)
    teacher = MODELS.build(dict(cfg, checkpoint=str(path)))
    assert_frozen(teacher)
    _, x = imagenet_normalised()
    feats = teacher(x)
    ref = src(x)
    assert [f.shape for f in feats] == [(2, 24, 3, 4)] * 4  # 48x64 // 14
    for a, b in zip(feats, ref):
        torch.testing.assert_close(a, b)
    assert teacher.out_indices == [0, 1, 2, 3]
    assert not feats[0].requires_grad


def test_clip_teacher_renormalises_and_resizes_pos_embed(tmp_path):
    cfg = tiny_teachers()['clip']
    # a "released" checkpoint made for 32x32 inputs (2x2 grid), full CLIP
    # state dict: the visual tower under visual.*, plus text weights
    small = MODELS.build(dict(cfg, img_size=(32, 32)))
    state = {'visual.' + k: v for k, v in small.model.state_dict().items()}
    state['token_embedding.weight'] = torch.zeros(10, 4)
    path = tmp_path / 'clip.bin'
    torch.save(state, path)
    teacher = MODELS.build(dict(cfg, checkpoint=str(path)))
    assert_frozen(teacher)
    torch.testing.assert_close(
        teacher.model.positional_embedding,
        resize_grid_embedding(small.model.positional_embedding, 1, (3, 4)))
    assert teacher.embed_dims == 32

    raw, x = imagenet_normalised()
    clip_in = (raw - torch.tensor(OPENAI_CLIP_MEAN).view(1, 3, 1, 1)) / \
        torch.tensor(OPENAI_CLIP_STD).view(1, 3, 1, 1)
    expected = teacher.model.forward_intermediates(
        clip_in, indices=[0, 1, 2, 3], intermediates_only=True,
        output_fmt='NCHW')['image_intermediates']
    for a, b in zip(teacher(x), expected):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    # the reference behaviour feeds the ImageNet-normalised image as is
    plain = MODELS.build(dict(cfg, checkpoint=str(path), renormalize=False))
    assert not torch.allclose(plain(x)[0], expected[0])
    # the former name of the weight argument still loads, with a warning
    with pytest.warns(FutureWarning, match='checkpoint='):
        old = MODELS.build(dict(cfg, pretrained=str(path)))
    torch.testing.assert_close(old.model.positional_embedding,
                               teacher.model.positional_embedding)
    with pytest.raises(ValueError, match='checkpoint only'):
        MODELS.build(dict(cfg, pretrained=str(path), checkpoint=str(path)))


def test_sam_teacher_matches_segment_anything_blocks(tmp_path):
    cfg = tiny_teachers()['sam']
    from functools import partial

    from segment_anything.modeling import ImageEncoderViT
    reference = ImageEncoderViT(
        img_size=64, patch_size=16, embed_dim=32, depth=4, num_heads=2,
        mlp_ratio=4, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
        qkv_bias=True, use_rel_pos=True, window_size=2,
        global_attn_indexes=(1, 3), out_chans=256).eval()
    state = {'image_encoder.' + k: v for k, v in reference.state_dict().items()}
    state['prompt_encoder.pe_layer.positional_encoding_gaussian_matrix'] = \
        torch.zeros(2, 2)
    state['mask_decoder.iou_token.weight'] = torch.zeros(1, 2)
    path = tmp_path / 'sam_vit_tiny.pth'
    torch.save(state, path)

    teacher = MODELS.build(dict(cfg, checkpoint=str(path)))
    assert_frozen(teacher)
    _, x = imagenet_normalised()
    blocks = []
    handles = [
        b.register_forward_hook(lambda m, i, o: blocks.append(o))
        for b in reference.blocks
    ]
    canvas, (nh, nw) = resize_longest_and_pad(x, 64)
    assert canvas.shape[-2:] == (64, 64) and (nh, nw) == (48, 64)
    assert canvas[..., 48:, :].abs().sum() == 0  # zero padding at the bottom
    reference(canvas)
    [h.remove() for h in handles]
    feats = teacher(x)
    for level, f in enumerate(feats):
        full = blocks[level].permute(0, 3, 1, 2)
        assert f.shape == (2, 32, 3, 4)  # only the image's 3 x 4 patches
        torch.testing.assert_close(f, full[..., :3, :4])
    stretched = MODELS.build(dict(cfg, checkpoint=str(path),
                                  align_valid_region=False))
    assert stretched(x)[0].shape == (2, 32, 4, 4)


def test_teacher_weight_errors_name_the_file_and_keys(tmp_path):
    cfg = tiny_teachers()['dinov2']
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        MODELS.build(dict(cfg, checkpoint=str(tmp_path / 'nowhere.pth')))
    wider = MODELS.build(dict(cfg, arch=dict(
        embed_dims=32, num_layers=4, num_heads=2, feedforward_channels=48)))
    path = tmp_path / 'wrong.pth'
    torch.save(wider.model.state_dict(), path)
    with pytest.raises(WeightsMismatchError) as err:
        MODELS.build(dict(cfg, checkpoint=str(path)))
    msg = str(err.value)
    assert 'wrong.pth' in msg and 'tensors of other shapes' in msg
    assert 'cls_token' in msg
    sam_path = tmp_path / 'not_sam.pth'
    torch.save({'foo.bar': torch.zeros(1)}, sam_path)
    with pytest.raises(WeightsMismatchError, match='keys the file lacks'):
        MODELS.build(dict(tiny_teachers()['sam'], checkpoint=str(sam_path)))


def test_clip_teacher_interpolates_pos_embed_for_other_sizes():
    """A grid other than the built one runs with the position embedding
    resized to it (the model's own is left as it is); the class token's
    row, counted from the model, is kept."""
    teacher = MODELS.build(tiny_teachers()['clip'])
    assert teacher.num_prefix_tokens == 1  # 1 + 3 x 4 rows for 48 x 64
    pos = teacher.model.positional_embedding.clone()
    x = torch.randn(1, 3, 64, 80)
    feats = teacher(x)
    assert [f.shape for f in feats] == [(1, 32, 4, 5)] * 4
    assert torch.equal(teacher.model.positional_embedding, pos)
    # the same as a tower built for 64 x 80 with the resized embedding
    wide = MODELS.build(dict(tiny_teachers()['clip'], img_size=(64, 80)))
    state = teacher.model.state_dict()
    state['positional_embedding'] = resize_grid_embedding(pos, 1, (4, 5),
                                                          (3, 4))
    wide.model.load_state_dict(state)
    for a, b in zip(feats, wide(x)):
        torch.testing.assert_close(a, b)


def test_clip_teacher_draws_only_its_image_towers_random_numbers():
    """open_clip builds a text tower beside the image tower; the teacher
    drops it and its random draws, so what is built after a CLIP teacher
    gets the weights it would get after the image tower alone."""
    from open_clip.model import _build_vision_tower  # the reference only
    cfg = tiny_teachers()['clip']
    torch.manual_seed(3)
    teacher = MODELS.build(cfg)
    after_teacher = torch.get_rng_state()
    torch.manual_seed(3)
    vision_cfg = dict(cfg['vision_cfg'], image_size=(48, 64))
    tower = _build_vision_tower(32, vision_cfg)
    assert torch.equal(after_teacher, torch.get_rng_state())
    for a, b in zip(teacher.model.state_dict().values(),
                    tower.state_dict().values()):
        assert torch.equal(a, b)


def test_clip_options_quick_gelu_and_unknown_tag():
    cfg = tiny_teachers()['clip']
    quick = MODELS.build(dict(cfg, quick_gelu=True))
    names = {type(m).__name__ for m in quick.model.modules()}
    assert 'QuickGELU' in names
    assert 'QuickGELU' not in {
        type(m).__name__ for m in MODELS.build(cfg).model.modules()}
    with pytest.raises(FileNotFoundError, match='neither a file nor'):
        MODELS.build(dict(cfg, model_name='ViT-B-16', vision_cfg=None,
                          checkpoint='no-such-tag'))


def test_dinov2_teacher_reads_the_official_release_layout(tmp_path):
    """dinov2_vit*14_pretrain.pth uses timm-style names, LayerScale and a
    mask token; it loads as is and computes what timm computes."""
    pytest.importorskip('timm')
    from timm.models.vision_transformer import VisionTransformer
    official = VisionTransformer(
        img_size=28, patch_size=14, embed_dim=24, depth=4, num_heads=2,
        mlp_ratio=2.0, init_values=1e-5, num_classes=0).eval()
    with torch.no_grad():
        for blk in official.blocks:  # make LayerScale matter
            blk.ls1.gamma.fill_(0.5)
            blk.ls2.gamma.fill_(0.7)
    state = dict(official.state_dict(), mask_token=torch.zeros(1, 24))
    path = tmp_path / 'dinov2_vittiny14_pretrain.pth'
    torch.save(state, path)
    teacher = MODELS.build(dict(tiny_teachers()['dinov2'],
                                checkpoint=str(path), renormalize=False))
    x = torch.randn(1, 3, 28, 28)
    blocks = []
    for blk in official.blocks:
        blk.register_forward_hook(lambda m, i, o: blocks.append(o))
    with torch.no_grad():
        official.forward_features(x)
        feats = teacher(x)
    for f, ref in zip(feats, blocks):
        ref = ref[:, 1:].transpose(1, 2).reshape(1, 24, 2, 2)
        torch.testing.assert_close(f, ref, atol=1e-5, rtol=1e-5)


def test_dinov2_teacher_resamples_the_position_grid_once_as_timm_does(
        tmp_path):
    """Built for its input size, the teacher resamples the checkpoint's
    position embedding at load, bicubic with antialiasing: the SAK
    reference's timm DINOv2 built at the crop size (timm's checkpoint
    filter) computes the same features; nothing is resampled per call."""
    from timm.models.vision_transformer import (VisionTransformer,
                                                checkpoint_filter_fn)
    torch.manual_seed(0)
    arch = dict(patch_size=14, embed_dim=24, depth=4, num_heads=2,
                mlp_ratio=2.0, init_values=1e-5, num_classes=0)
    released = VisionTransformer(img_size=56, **arch).state_dict()  # 4 x 4
    path = tmp_path / 'dinov2_vittiny14_pretrain.pth'
    torch.save(released, path)
    crop = (42, 70)  # a 3 x 5 grid: shrinks (antialiasing) and grows
    reference = VisionTransformer(img_size=crop, **arch).eval()
    reference.load_state_dict(checkpoint_filter_fn(released, reference))
    teacher = MODELS.build(dict(tiny_teachers()['dinov2'], img_size=crop,
                                checkpoint=str(path), renormalize=False))
    assert teacher.model.patch_resolution == (3, 5)
    x = torch.randn(1, 3, *crop)
    blocks = []
    for blk in reference.blocks:
        blk.register_forward_hook(lambda m, i, o: blocks.append(o))
    calls = []
    import mmpretrain.models.backbones.vision_transformer as mmpretrain_vit
    resize = mmpretrain_vit.resize_pos_embed
    with pytest.MonkeyPatch.context() as mp, torch.no_grad():
        mp.setattr(mmpretrain_vit, 'resize_pos_embed',
                   lambda pos, src, dst, **kw: calls.append((src, dst))
                   or resize(pos, src, dst, **kw))
        reference.forward_features(x)
        feats = teacher(x)
    assert calls == [((3, 5), (3, 5))]  # the early return: no resampling
    for f, ref in zip(feats, blocks):
        ref = ref[:, 1:].transpose(1, 2).reshape(1, 24, 3, 5)
        torch.testing.assert_close(f, ref, atol=1e-5, rtol=1e-5)


def test_timm_teacher_loads_the_references_clip_layout(tmp_path):
    """timm's CLIP tower (the reference's teacher) from a local safetensors
    file of another grid: the features of timm's own model loaded through
    its checkpoint filter at the crop, and other sizes run too."""
    from safetensors.torch import save_file
    from timm import create_model
    from timm.models.vision_transformer import checkpoint_filter_fn
    tiny = dict(embed_dim=32, depth=4, num_heads=2)
    torch.manual_seed(0)
    released = create_model('vit_base_patch16_clip_384', img_size=32,
                            **tiny).state_dict()  # 2 x 2 grid, with a head
    path = str(tmp_path / 'model.safetensors')
    save_file(released, path)
    teacher = MODELS.build(dict(
        type='TimmViTTeacher', model_name='vit_base_patch16_clip_384',
        img_size=CROP, checkpoint=path, model_kwargs=tiny,
        renormalize=False))
    assert_frozen(teacher)
    assert teacher.embed_dims == 32 and teacher.out_indices == [0, 1, 2, 3]
    reference = create_model('vit_base_patch16_clip_384', img_size=CROP,
                             num_classes=0, **tiny).eval()
    reference.load_state_dict(checkpoint_filter_fn(
        {k: v for k, v in released.items() if not k.startswith('head.')},
        reference))
    _, x = imagenet_normalised()
    with torch.no_grad():
        expected = reference.forward_intermediates(
            x, indices=[0, 1, 2, 3], norm=False, intermediates_only=True)
    feats = teacher(x)
    assert [f.shape for f in feats] == [(2, 32, 3, 4)] * 4
    for a, b in zip(feats, expected):
        torch.testing.assert_close(a, b)
    assert [f.shape for f in teacher(torch.randn(1, 3, 64, 80))] == \
        [(1, 32, 4, 5)] * 4


@pytest.mark.parametrize('window', [0, 3])
def test_fused_sam_attention_equals_segment_anything(window):
    """The decomposed relative-position bias folded into one SDPA call gives
    segment_anything's block outputs (global and windowed, padded)."""
    from functools import partial

    from segment_anything.modeling.image_encoder import Block

    from sak_mm.models.teachers.sam import RelPosSDPAttention
    blk = Block(dim=32, num_heads=2, mlp_ratio=2.0, qkv_bias=True,
                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                use_rel_pos=True, window_size=window,
                input_size=(5, 7) if window == 0 else (window, window))
    with torch.no_grad():  # non-trivial relative position tables
        blk.attn.rel_pos_h.normal_()
        blk.attn.rel_pos_w.normal_()
    x = torch.randn(2, 5, 7, 32)
    expected = blk(x)
    keys = set(blk.state_dict())
    blk.attn = RelPosSDPAttention(blk.attn)
    assert set(blk.state_dict()) == keys  # the same parameters
    torch.testing.assert_close(blk(x), expected, atol=1e-5, rtol=1e-5)


def test_sam_teacher_fused_and_plain_paths_agree(monkeypatch):
    cfg = tiny_teachers()['sam']
    fused = MODELS.build(cfg)
    plain = MODELS.build(dict(cfg, fused_attention=False))
    plain.model.load_state_dict(fused.model.state_dict())
    _, x = imagenet_normalised()
    sdpa = torch.nn.functional.scaled_dot_product_attention
    widths = []

    def recording_sdpa(q, k, v, **kwargs):
        widths.append((q.shape[-1], k.shape[-1], v.shape[-1]))
        return sdpa(q, k, v, **kwargs)

    monkeypatch.setattr(torch.nn.functional, 'scaled_dot_product_attention',
                        recording_sdpa)
    for a, b in zip(fused(x), plain(x)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    # head dim 16 widened by the window's 2 + 2 position codes (20, padded
    # to 24) and by the global grid's 4 + 4 (24): one width for q, k and v,
    # a multiple of 8, so the fused kernels need no padded copies
    assert set(widths) == {(24, 24, 24)} and len(widths) == 4


def test_teachers_run_in_the_autocast_dtype_without_autograd():
    """Under AMP the frozen weights are converted to bf16 once; features
    stay close to fp32 ones, are ordinary tensors (a loss may save them),
    and a later call without autocast runs in bf16 as training did."""
    from sak_mm.registry import MODELS
    from tests.conftest import tiny_teachers
    x = torch.randn(2, 3, 48, 64)
    for name, cfg in tiny_teachers().items():
        teacher = MODELS.build(cfg)
        ref = teacher(x)
        assert all(not f.requires_grad and not f.is_inference() for f in ref)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            feats = teacher(x)
        assert next(teacher.parameters()).dtype == torch.bfloat16, name
        assert teacher.gain.dtype == torch.float32  # buffers keep fp32
        for f, r in zip(feats, ref):
            assert not f.is_inference()
            cos = F.cosine_similarity(f.float().flatten(1), r.flatten(1))
            assert cos.min() > 0.99, (name, cos)
        student = torch.zeros_like(feats[0], dtype=torch.float32,
                                   requires_grad=True)
        (student * feats[0]).sum().backward()  # saved for backward: fine
        # later fp32 calls (a validation hook) run as training did
        again = teacher(x)
        assert next(teacher.parameters()).dtype == torch.bfloat16
        for f, g in zip(feats, again):
            torch.testing.assert_close(f, g)
        kept = MODELS.build(dict(cfg, autocast_weights=False))
        with torch.autocast('cpu', dtype=torch.bfloat16):
            kept(x)
        assert next(kept.parameters()).dtype == torch.float32


def test_every_attention_is_one_fused_sdpa_call():
    """Stem and teachers attend through scaled_dot_product_attention (flash
    / memory-efficient kernels on a GPU; CLIP's nn.MultiheadAttention takes
    its native fused op, itself SDPA-based, outside autocast): one fused op
    per block, no softmax materialising an attention matrix anywhere."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from sak_mm.registry import MODELS
    from tests.conftest import tiny_stem, tiny_teachers

    class OpLog(TorchDispatchMode):

        def __init__(self):
            super().__init__()
            self.ops = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.ops.append(str(func.overloadpacket))
            return func(*args, **(kwargs or {}))

    x = torch.randn(1, 3, 48, 64)
    nets = {n: MODELS.build(c) for n, c in tiny_teachers().items()}
    nets['stem'] = MODELS.build(dict(type='TSAPBackbone', stem=tiny_stem()))
    for name, net in nets.items():
        with OpLog() as log:
            net(x)
        sdpa = [op for op in log.ops if 'scaled_dot_product' in op
                or '_native_multi_head_attention' in op]
        assert len(sdpa) == 4, (name, sdpa)  # 4 blocks in every tiny net
        assert not [op for op in log.ops if 'softmax' in op], name


def test_adding_a_teacher_as_the_docs_say(tmp_path, monkeypatch):
    """docs/adding_a_teacher.md as written: its module and its config (the
    only two files a new family touches) train one stage-1 iteration, the
    teacher built tiny from what it declares and its weights read from a
    tiny file in timm's release format."""
    import re

    from mmengine.config import Config

    from sak_mm.datasets import make_demo_nyud
    from sak_mm.engine import SAKRunner
    from tests.test_configs_run import ROOT, WeightFiles, shrink
    with open(f'{ROOT}/docs/adding_a_teacher.md') as f:
        module, config = re.findall(r'```python\n(.*?)```', f.read(), re.S)
    (tmp_path / 'eva02_teacher.py').write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = config.replace('projects.eva02_teacher.eva02_teacher',
                            'eva02_teacher')
    config = config.replace('../../../configs/', f'{ROOT}/configs/')
    (tmp_path / 'config.py').write_text(config)
    weights = tmp_path / 'weights'
    weights.mkdir()
    images = make_demo_nyud(str(tmp_path / 'rooms'), num_train=2,
                            num_val=1, size=(60, 80), seed=3)
    cfg = shrink(Config.fromfile(str(tmp_path / 'config.py')),
                 dict(ImageFolderDataset=images), str(tmp_path / 'work'),
                 WeightFiles(weights))
    assert cfg.model.teachers.eva02.checkpoint.endswith('.safetensors')
    runner = SAKRunner.from_cfg(cfg)
    runner.train()
    model = runner.model
    assert list(model.teacher_models) == ['dinov2', 'clip', 'sam', 'eva02']
    assert 'eva02' in model.backbone.adapters
    assert model.teacher_models['eva02'].embed_dims == 32


def test_a_teacher_file_of_another_width_is_named_with_its_shapes(tmp_path):
    """A DINOv2 file of another width (made at a non-square crop, as a
    user's own export may be) is refused naming the file and the
    mismatched shapes, not as a position grid that is not square."""
    cfg = tiny_teachers()['dinov2']
    wider = MODELS.build(dict(
        cfg, arch=dict(cfg['arch'], embed_dims=32, feedforward_channels=64),
        img_size=(84, 126)))  # a 6 x 9 grid
    path = tmp_path / 'dinov2_wide.pth'
    wider.save_release_file(str(path))
    with pytest.raises(WeightsMismatchError) as err:
        MODELS.build(dict(cfg, checkpoint=str(path)))
    message = str(err.value)
    assert str(path) in message and 'tensors of other shapes' in message
    assert 'pos_embed: file (1, 55, 32) vs model (1, 5, 24)' in message
    assert 'not square' not in message
