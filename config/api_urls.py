from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from accounts.api import CloudAccountViewSet
from actions.api import InstanceActionViewSet, InstanceViewSet
from actions.schedules_api import ScheduleEventViewSet, ScheduleViewSet
from alerts.api import AlertEventViewSet, BudgetViewSet
from alerts.channels_api import ChannelDeliveryViewSet, ChannelViewSet
from allocation.api import CostViewSet, DimensionViewSet
from commitments.api import CommitmentViewSet
from findings.api import RecommendationViewSet
from fleet.api import (
    DatabaseInstanceViewSet,
    LoadBalancerViewSet,
    NatGatewayViewSet,
    SnapshotViewSet,
)

# Namespaced as "api": the router's names (instance-list, ...) must not shadow the dashboard's.
app_name = "api"

router = DefaultRouter()
router.register("accounts", CloudAccountViewSet, basename="account")
# costs/summary/ from allocation: it also groups by dimension and tag (allocation/api.py).
router.register("costs", CostViewSet, basename="cost")
router.register("dimensions", DimensionViewSet, basename="dimension")
router.register("commitments", CommitmentViewSet, basename="commitment")
router.register("instances", InstanceViewSet, basename="instance")
router.register("databases", DatabaseInstanceViewSet, basename="database")
router.register("snapshots", SnapshotViewSet, basename="snapshot")
router.register("nat-gateways", NatGatewayViewSet, basename="nat-gateway")
router.register("load-balancers", LoadBalancerViewSet, basename="load-balancer")
router.register("recommendations", RecommendationViewSet, basename="recommendation")
router.register("budgets", BudgetViewSet, basename="budget")
router.register("alerts", AlertEventViewSet, basename="alert")
router.register("channels", ChannelViewSet, basename="channel")
router.register("channel-deliveries", ChannelDeliveryViewSet, basename="channel-delivery")
router.register("actions", InstanceActionViewSet, basename="action")
router.register("schedules", ScheduleViewSet, basename="schedule")
router.register("schedule-events", ScheduleEventViewSet, basename="schedule-event")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api:schema",
            # An HTML page: OPTIONS would ask DRF for metadata it cannot render here (a 500).
            http_method_names=["get", "head"],
        ),
        name="swagger-ui",
    ),
]
