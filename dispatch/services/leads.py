"""A lead accepted by its franchise becomes an order, with its client and site found or made."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from clients.models import Client, Lead, LeadHop, Site
from clients.routing import lead_hop_close
from clients.services import client_create, site_create
from core import clock
from core.geo import GeoPoint, great_circle_km

from ..models import Order
from .orders import order_place

# A client's existing site within this distance of the lead's point is the same site.
SAME_SITE_KM = 0.2


def _client_for(lead: Lead) -> Client:
    existing = (
        Client.objects.filter(phone=lead.phone, franchise=lead.franchise).order_by("id").first()
    )
    if existing is not None:
        return existing
    return client_create(name=lead.contact_name, phone=lead.phone, franchise=lead.franchise)


def _site_for(client: Client, lead: Lead) -> Site:
    if lead.lat is None or lead.lng is None:
        raise ValidationError({"lead": [_("The lead has no located site yet.")]})
    point = GeoPoint(lead.lat, lead.lng)
    for site in client.sites.all():
        same_address = site.address.strip().casefold() == lead.address.strip().casefold()
        if same_address or great_circle_km(GeoPoint(site.lat, site.lng), point) <= SAME_SITE_KM:
            return site
    return site_create(client=client, address=lead.address, lat=lead.lat, lng=lead.lng)


@transaction.atomic
def lead_accept(*, lead: Lead, user: Any) -> Order:
    """The holder accepts the lead: exactly one order is made, however often this is called."""
    # of=("self",): the franchise is a nullable join, which PostgreSQL refuses to lock.
    lead = Lead.objects.select_for_update(of=("self",)).select_related("franchise").get(
        pk=lead.pk
    )
    existing = Order.objects.filter(lead=lead).first()
    if existing is not None:
        return existing
    if lead.status != Lead.Status.OFFERED or lead.franchise is None:
        raise ValidationError(
            {"status": [_("Only a lead offered to a franchise can be accepted; HQ routes it "
                          "first.")]}
        )
    if not user.is_hq and user.franchise_id != lead.franchise_id:
        raise ValidationError({"franchise": [_("This lead is offered to another franchise.")]})
    client = _client_for(lead)
    site = _site_for(client, lead)
    start = lead.start
    if start < clock.now():
        raise ValidationError(
            {"start": [_("The lead's start has passed; agree a new time first.")]}
        )
    order = order_place(
        client=client, site=site, franchise=lead.franchise, work_type=lead.work_type,
        headcount=lead.headcount, start=start, hours=lead.hours, notes=lead.notes, lead=lead,
        created_by=user,
    )
    lead.status = Lead.Status.ACCEPTED
    lead.save(update_fields=["status"])
    lead_hop_close(lead, LeadHop.Outcome.ACCEPTED, clock.now())
    return order
