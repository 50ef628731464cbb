"""``notify:`` in the spec: where alerts go (a chat webhook, e-mail) and when they are sent."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WebhookConfig(_Frozen):
    url: SecretStr                       # chat webhooks carry a token: write ${CWSAGE_WEBHOOK}
    timeout_seconds: float = Field(10.0, gt=0, le=120)


class EmailConfig(_Frozen):
    host: str
    port: int = Field(587, ge=1, le=65535)
    from_address: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    starttls: bool = True
    username: SecretStr | None = None    # ${ENV} references only (checked by flows/spec.py)
    password: SecretStr | None = None
    timeout_seconds: float = Field(30.0, gt=0, le=300)


class NotifyConfig(_Frozen):
    webhook: WebhookConfig | None = None
    email: EmailConfig | None = None
    on_failure: bool = True
    on_unreconciled: bool = True
    quarantine_over: int | None = Field(None, ge=0)
    quarantine_older_than_days: float | None = Field(None, gt=0)
    repeat_hours: float = Field(24.0, ge=0)
    oldest: int = Field(5, ge=1, le=50)

    @model_validator(mode="after")
    def _somewhere(self) -> "NotifyConfig":
        if self.webhook is None and self.email is None:
            raise ValueError("give a webhook: or an email: block — where alerts are sent")
        return self
