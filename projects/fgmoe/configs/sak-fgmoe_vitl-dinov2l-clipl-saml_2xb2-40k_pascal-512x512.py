# SAK stage 2 with the FGMoE decoder in place of the per-task heads (cf. the
# SAK paper's Table 9, SAK with a stronger decoder): each task's branch
# decodes that task's MoR mixture of the TAS and TSAP levels (the mixture is
# the task-specific representation SAK learns), the global MoE decodes the
# TAS levels (the teacher-agnostic representation all tasks share). Levels
# are aggregated at H/16, as for FGMoE on a ViT.
_base_ = ['../../../configs/sak/sak_vitl-dinov2l-clipl-saml_2xb2-40k_pascal-512x512.py', './_base_/tasks/fgmoe_pascal.py']
custom_imports = dict(
    imports=['projects.fgmoe.fgmoe'], allow_failed_imports=False)
model = dict(
    heads=None,
    decoder=dict(
        type='FGMoEDecoder',
        heads={{_base_.fgmoe_pascal_heads}},
        channels=256,
        num_levels=4,
        mixer=dict(deform='channelwise', num_heads=4, attn_residual=False),
        task_moe=dict(hidden=256, num_shared=2, num_routed=6, top_k=3),
        global_moe=dict(hidden=256, num_shared=2, num_routed=6, top_k=3)))
# the MoR gates and the experts' routing
custom_hooks = [dict(type='RouterWeightsHook'), dict(type='ExpertUsageHook')]
