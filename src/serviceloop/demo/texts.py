"""What the demo's people write: case descriptions, replies and notes, in Chinese and English."""

from __future__ import annotations

import random

__all__ = ["say"]

_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "description": {
        "zh": (
            "您好，{title}，麻烦尽快安排处理，谢谢。",
            "{title}。已经影响到日常生产，请协助。",
            "我们这边遇到问题：{title}。联系人电话见账户信息。",
        ),
        "en": (
            "Hello, {title}. Please look into it as soon as you can.",
            "{title}. This is affecting our daily operation; we need help.",
            "We have an issue: {title}. Contact details are on our account.",
        ),
    },
    "ack": {
        "zh": (
            "您好，已收到您的需求，我们正在分析，稍后与您联系。",
            "感谢反馈，工程师正在了解情况。",
        ),
        "en": (
            "Thanks, we received your request and are analysing it.",
            "Thank you, we are on it.",
        ),
    },
    "analysis_note": {
        "zh": ("已电话联系客户，确认了设备型号和现场情况。", "需求较清楚，准备方案确认单。"),
        "en": (
            "Called the customer, confirmed model and site details.",
            "Clear request; preparing the confirmation.",
        ),
    },
    "proposal": {
        "zh": (
            "根据沟通，我们建议的处理方案见附件说明，请您确认。",
            "请确认以下服务内容和时间安排。",
        ),
        "en": (
            "Based on our call, here is the proposed plan; please confirm.",
            "Please confirm the scope and schedule below.",
        ),
    },
    "confirm": {
        "zh": ("确认，按方案执行。", "没问题，请安排。", "同意，谢谢。"),
        "en": ("Confirmed, please go ahead.", "Looks good, please schedule it.", "Agreed, thanks."),
    },
    "change_request": {
        "zh": ("时间需要调整到下周，可以吗？", "方案里还需要包含备件更换。"),
        "en": (
            "Could we move this to next week?",
            "Please include the spare-part replacement too.",
        ),
    },
    "revised": {
        "zh": ("已按您的意见调整方案，请再次确认。",),
        "en": ("We updated the plan as you asked; please confirm again.",),
    },
    "design_note": {
        "zh": ("方案设计完成，已评审。", "排队较多，今天开始处理。", "需要二线专家参与，已协调。"),
        "en": (
            "Design done and reviewed.",
            "Long queue; starting on it today.",
            "Needed a second-line expert; arranged.",
        ),
    },
    "delivery_note": {
        "zh": ("工程师已到现场。", "实施完成，已拍照留档。", "已远程完成配置。"),
        "en": ("Engineer on site.", "Work done, photos filed.", "Configured remotely."),
    },
    "delivery_reply": {
        "zh": ("服务已实施完成，请您检查。",),
        "en": ("The work is done; please check on your side.",),
    },
    "followup": {
        "zh": ("您好，回访一下本次服务，请问问题是否已解决？",),
        "en": ("Hello, following up on our service: is everything working now?",),
    },
    "followup_ok": {
        "zh": ("已解决，谢谢。", "很满意，辛苦了。"),
        "en": ("All good now, thank you.", "Very happy with the service."),
    },
    "followup_bad": {
        "zh": ("问题又出现了，请再派人看看。",),
        "en": ("The problem came back; please send someone again.",),
    },
    "escalation": {
        "zh": ("等待时间过长，升级至主管。",),
        "en": ("Waiting too long; escalated to the manager.",),
    },
    "reopen": {
        "zh": ("客户来电反映问题复发。",),
        "en": ("Customer called: the problem is back.",),
    },
}


def say(rng: random.Random, what: str, lang: str, **values: str) -> str:
    """One of the demo texts for ``what`` in ``lang`` ("zh" or "en"), formatted with ``values``."""
    return rng.choice(_TEXTS[what][lang]).format(**values)
