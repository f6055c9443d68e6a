"""The default indicator system: the five first-level indicators of the service-process method.

Leaves name their source: a computed measure (``measures.MEASURES``), survey answers, or a value a
manager enters per period. Manual weights start equal among siblings; AHP or entropy weights
replace them when chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from serviceloop.evaluation.choices import Direction, Source

__all__ = ["DEFAULT_SYSTEM", "Node"]


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    name_zh: str
    source: str = ""
    measure: str = ""
    direction: str = Direction.BENEFIT
    unit: str = ""
    target: float | None = None
    children: tuple[Node, ...] = field(default=())


def _leaf(
    code, name, name_zh, source, measure="", direction=Direction.BENEFIT, unit="", target=None
):  # type: ignore[no-untyped-def]
    return Node(code, name, name_zh, source, measure, direction, unit, target)


C, S, M, Q = Source.COMPUTED, Source.SURVEY, Source.MANUAL, Source.QA
COST = Direction.COST

DEFAULT_SYSTEM = (
    "service-default",
    "Service process evaluation",
    "服务流程评价",
    (
        Node(
            "customer_satisfaction",
            "Customer satisfaction",
            "客户满意度",
            children=(
                _leaf(
                    "survey_satisfaction",
                    "Survey satisfaction",
                    "调查满意度",
                    S,
                    "survey_csat",
                    unit="1-5",
                    target=4.5,
                ),
                _leaf(
                    "customer_feedback",
                    "Customer feedback",
                    "客户反馈",
                    S,
                    "survey_nps",
                    unit="0-10",
                    target=8,
                ),
                _leaf(
                    "complaint_handling",
                    "Complaint handling rate",
                    "投诉处理率",
                    C,
                    "complaint_handling_rate",
                    unit="%",
                    target=95,
                ),
            ),
        ),
        Node(
            "service_quality",
            "Service quality",
            "服务质量",
            children=(
                _leaf(
                    "response_time",
                    "Response time",
                    "响应时间",
                    C,
                    "first_response_hours",
                    COST,
                    "h",
                    4,
                ),
                _leaf(
                    "first_contact_resolution",
                    "First-contact resolution",
                    "首次解决率",
                    C,
                    "first_contact_resolution",
                    unit="%",
                    target=70,
                ),
                _leaf("reopen_rate", "Reopen rate", "重开率", C, "reopen_rate", COST, "%", 5),
                _leaf(
                    "attitude",
                    "Service attitude",
                    "服务态度",
                    S,
                    "survey_attitude",
                    unit="1-5",
                    target=4.5,
                ),
                _leaf(
                    "quality_review",
                    "Quality review score",
                    "质检评分",
                    Q,
                    "qa_score",
                    unit="0-100",
                    target=85,
                ),
            ),
        ),
        Node(
            "process_efficiency",
            "Process efficiency",
            "流程效率",
            children=(
                _leaf(
                    "process_time", "Process time", "流程时间", C, "process_hours", COST, "h", 48
                ),
                _leaf("process_cost", "Process cost", "流程成本", C, "process_cost", COST, "¥"),
                _leaf(
                    "process_compliance",
                    "Process compliance",
                    "流程合规性",
                    C,
                    "compliance_rate",
                    unit="%",
                    target=90,
                ),
            ),
        ),
        Node(
            "team_collaboration",
            "Team collaboration",
            "团队协作",
            children=(
                _leaf(
                    "handovers",
                    "Communication: handovers per case",
                    "沟通协作：交接次数",
                    C,
                    "handovers_per_case",
                    COST,
                ),
                _leaf(
                    "shared_cases",
                    "Cases shared between teams",
                    "跨团队协作案例",
                    C,
                    "cross_team_share",
                    unit="%",
                ),
                _leaf(
                    "problem_solving",
                    "Problem solving",
                    "问题解决",
                    C,
                    "escalation_free_rate",
                    unit="%",
                    target=90,
                ),
            ),
        ),
        Node(
            "resource_allocation",
            "Resource allocation",
            "资源配置",
            children=(
                _leaf(
                    "staff_utilisation", "Staff utilisation", "人员利用率", C, "staff_utilisation"
                ),
                _leaf("load_balance", "Load imbalance", "负载不均衡度", C, "load_balance", COST),
                _leaf("equipment_utilisation", "Equipment utilisation", "设备利用率", M, unit="%"),
                _leaf(
                    "information_integration", "Information integration", "信息集成", M, unit="1-5"
                ),
            ),
        ),
    ),
)
