"""Word lists for believable demo people, organisations, categories and case texts.

Hand-written rather than drawn from a faker library: the demo stays deterministic across library
versions and needs no extra dependency.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = [
    "CATEGORIES",
    "CategorySpec",
    "chinese_name",
    "english_name",
    "organisation_names",
]

_ZH_SURNAMES = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
    ("何", "he"),
    ("郭", "guo"),
    ("马", "ma"),
    ("罗", "luo"),
    ("梁", "liang"),
    ("宋", "song"),
    ("郑", "zheng"),
    ("谢", "xie"),
    ("韩", "han"),
    ("唐", "tang"),
    ("冯", "feng"),
    ("于", "yu"),
    ("董", "dong"),
    ("萧", "xiao"),
]
_ZH_GIVEN = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("海燕", "haiyan"),
    ("建华", "jianhua"),
    ("志强", "zhiqiang"),
    ("晓东", "xiaodong"),
    ("婷婷", "tingting"),
    ("子涵", "zihan"),
    ("欣怡", "xinyi"),
    ("浩然", "haoran"),
    ("宇轩", "yuxuan"),
    ("佳怡", "jiayi"),
    ("俊杰", "junjie"),
    ("雨桐", "yutong"),
    ("梓萱", "zixuan"),
]
_EN_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Susan",
    "Richard",
    "Jessica",
    "Joseph",
    "Sarah",
    "Thomas",
    "Karen",
    "Daniel",
    "Emily",
    "Matthew",
    "Olivia",
    "Anthony",
    "Sophie",
    "Mark",
    "Grace",
    "Paul",
    "Hannah",
    "Andrew",
    "Chloe",
]
_EN_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Adams",
    "Nelson",
    "Carter",
]
_ORG_ZH_PLACES = ["上海", "北京", "深圳", "杭州", "苏州", "南京", "成都", "武汉", "广州", "天津"]
_ORG_ZH_CORES = [
    "华信",
    "恒通",
    "瑞丰",
    "联创",
    "宏达",
    "云启",
    "博远",
    "中科",
    "新元",
    "鼎盛",
    "汇智",
    "天成",
]
_ORG_ZH_KINDS = [
    "科技有限公司",
    "制造有限公司",
    "物流有限公司",
    "医疗器械有限公司",
    "信息技术有限公司",
]
_ORG_EN_CORES = [
    "Northwind",
    "Bluepeak",
    "Harbor",
    "Crescent",
    "Summit",
    "Evergreen",
    "Ironbridge",
    "Lumen",
    "Oakridge",
    "Riverside",
    "Silverline",
    "Tidewater",
]
_ORG_EN_KINDS = [
    "Logistics Ltd",
    "Manufacturing Co.",
    "Health Systems",
    "Retail Group",
    "Software Inc.",
]


@dataclass(frozen=True)
class CategorySpec:
    """A demo category; ``skill`` is the code of the skill routing prefers for it."""

    code: str
    name: str
    name_zh: str
    skill: str
    weight: float
    titles: tuple[str, ...]


CATEGORIES: tuple[CategorySpec, ...] = (
    CategorySpec(
        "installation",
        "Installation",
        "安装调试",
        "installation",
        0.22,
        (
            "设备安装预约",
            "Installation of the new line",
            "新设备调试",
            "Site survey before install",
        ),
    ),
    CategorySpec(
        "fault",
        "Fault report",
        "故障报修",
        "troubleshooting",
        0.30,
        (
            "设备无法启动",
            "Device shows error E42",
            "打印模块卡纸",
            "Sensor readings drift",
            "系统频繁重启",
            "Controller offline since this morning",
        ),
    ),
    CategorySpec(
        "consulting",
        "Consulting",
        "业务咨询",
        "consulting",
        0.18,
        ("产品选型咨询", "Which plan fits our volume?", "升级方案咨询", "Integration options"),
    ),
    CategorySpec(
        "billing",
        "Billing",
        "账单发票",
        "billing",
        0.12,
        ("发票抬头有误", "Invoice amount differs from quote", "续费账单疑问", "Refund request"),
    ),
    CategorySpec(
        "maintenance",
        "Maintenance",
        "维护保养",
        "installation",
        0.10,
        ("年度保养预约", "Quarterly maintenance visit", "更换易损件", "Calibration due"),
    ),
    CategorySpec(
        "complaint",
        "Complaint",
        "投诉建议",
        "consulting",
        0.08,
        ("服务响应太慢", "Engineer missed the appointment", "对维修结果不满意", "Repeated failure"),
    ),
)


def chinese_name(rng: random.Random) -> tuple[str, str]:
    """A Chinese full name and its pinyin (family name first, as written in China)."""
    surname, surname_py = rng.choice(_ZH_SURNAMES)
    given, given_py = rng.choice(_ZH_GIVEN)
    return surname + given, f"{surname_py}.{given_py}"


def english_name(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_EN_FIRST), rng.choice(_EN_LAST)
    return f"{first} {last}", f"{first.lower()}.{last.lower()}"


def organisation_names(rng: random.Random, count: int) -> list[str]:
    """``count`` distinct organisation names, about two thirds Chinese."""
    names: set[str] = set()
    while len(names) < count:
        if rng.random() < 0.66:
            names.add(
                rng.choice(_ORG_ZH_PLACES) + rng.choice(_ORG_ZH_CORES) + rng.choice(_ORG_ZH_KINDS)
            )
        else:
            names.add(f"{rng.choice(_ORG_EN_CORES)} {rng.choice(_ORG_EN_KINDS)}")
    return sorted(names)
