"""Who a staff member is at their organisation's identity provider."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class StaffIdentity(models.Model):
    """The account an OpenID Connect subject (`sub` at an issuer) signs in as.

    Matched on issuer and `sub`, never on e-mail: an address can be reused or changed,
    the subject identifier cannot.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="staff_identity"
    )
    issuer = models.CharField(_("issuer"), max_length=255)
    sub = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("first sign-in"), auto_now_add=True)
    last_claims_at = models.DateTimeField(_("roles last taken from the claims"), auto_now=True)

    class Meta:
        verbose_name = _("organisation identity")
        verbose_name_plural = _("organisation identities")
        constraints = [models.UniqueConstraint(fields=["issuer", "sub"], name="staffidentity_issuer_sub_unique")]

    def __str__(self) -> str:
        return f"{self.sub} @ {self.issuer}"

    def get_absolute_url(self) -> str:
        return reverse("admin:auth_user_change", args=[self.user_id])
