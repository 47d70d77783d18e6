import re

from django import forms

from chat.models import MAX_MESSAGE_LENGTH, ChatWidget
from meetings.forms import NO_CONTROL_CHARACTERS
from scheduler.inputs import validate_text
from scheduler.models import User
from scheduler.origins import MAX_ORIGINS, clean_origins

# Line breaks and tabs are text; other control characters are not.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MessageForm(forms.Form):
    """A line of chat, from a visitor or the team: plain text, at most 2,000 characters."""

    body = forms.CharField(
        label="Message",
        max_length=MAX_MESSAGE_LENGTH,
        validators=[validate_text],
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write a message first."},
    )

    def clean_body(self) -> str:
        body = self.cleaned_data["body"].replace("\r\n", "\n").replace("\r", "\n")
        if CONTROL_CHARACTERS.search(body):
            raise forms.ValidationError("Use text only (no control characters).")
        return body.strip()


class ReplyForm(MessageForm):
    """A team member's reply in the inbox."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].label = "Your reply"
        self.fields["body"].error_messages["required"] = "Write your reply first."


class VisitorContactForm(forms.Form):
    email = forms.EmailField(
        validators=[validate_text], error_messages={"required": "Enter your email address."}
    )
    name = forms.CharField(
        max_length=200, required=False, validators=[validate_text, NO_CONTROL_CHARACTERS]
    )


# Message ids are PostgreSQL bigints: a larger number is refused as input, not by the database.
MAX_ID = 2**63 - 1


class ReadForm(forms.Form):
    upto = forms.IntegerField(min_value=0, max_value=MAX_ID)


class AfterForm(forms.Form):
    after = forms.IntegerField(min_value=0, max_value=MAX_ID, required=False)


class WidgetSettingsForm(forms.Form):
    """Settings > Chat widget (admins): who answers, and which websites may embed."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Chats are answered by",
        help_text="The widget shows this person's chat profile; new conversations are theirs.",
    )
    embed_origins = forms.CharField(
        label="Websites allowed to embed",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=(
            "One origin per line, like https://www.example.com or https://shop.example.com:8443 "
            f"(at most {MAX_ORIGINS}). Browsers refuse to show the chat widget and embedded "
            "scheduling pages anywhere else."
        ),
    )

    def __init__(self, data=None, *, widget: ChatWidget):
        initial = {
            "owner": widget.owner_id,
            "embed_origins": "\n".join(widget.account.embed_origins or []),
        }
        super().__init__(data, initial=initial)
        self.fields["owner"].queryset = User.objects.filter(
            account_id=widget.account_id, is_active=True
        ).order_by("email")

    def clean_embed_origins(self) -> list[str]:
        return clean_origins(self.cleaned_data["embed_origins"])
