"""What the API holds while it runs: the state-topic writer and views, the event producer,
the stores in Redis (contacts, offers, delivery statuses, API keys, request windows), the
erasure of customers across them, the live activity the marketers' page shows, and what
social listening found. Built once in the app's lifespan from the settings, closed at
shutdown."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from offers.contacts import ContactStore
from offers.delivery_status import StatusBook
from offers.erasure import CustomerErasure, ErasureLog
from offers.offer_book import OfferBook
from offers.settings import Settings
from offers.state.campaigns import CampaignStore
from offers.state.compacted import TopicWriter
from offers.state.consent import ConsentStore
from offers_api.credentials import RedisApiKeyStore
from offers_api.listening import ListeningFeed
from offers_api.rate_limit import RedisRequestWindows, RequestWindows
from offers_api.security import ApiKeyStore
from offers_api.web.activity import ActivityFeed


@dataclass
class ApiState:
    settings: Settings
    writer: TopicWriter
    """acks=all writer of state topics and of the events the API ingests."""
    consent: ConsentStore
    campaigns: CampaignStore
    contacts: ContactStore
    offers: OfferBook
    statuses: StatusBook
    api_keys: ApiKeyStore
    request_windows: RequestWindows
    """The callers' rate-limit windows (:mod:`offers_api.rate_limit`)."""
    erasures: ErasureLog
    erasure: CustomerErasure
    """Erases a customer from every store (:mod:`offers.erasure`)."""
    redis: Redis
    async_redis: AsyncRedis
    """The same Redis for what the API awaits on the event loop (it may only be used there:
    its connections belong to the loop that opened them)."""
    activity: ActivityFeed
    """Decisions and delivery statuses as they are written (:mod:`offers_api.web.activity`),
    tailed by a thread of its own; stopping it ends the page's streams."""
    listening: ListeningFeed
    """The counts of social mentions per window and the alerts (:mod:`offers_api.listening`),
    followed by a thread of its own."""

    @classmethod
    def open(cls, settings: Settings) -> ApiState:
        writer = TopicWriter(settings.kafka_bootstrap)
        redis = Redis.from_url(settings.redis_url)
        async_redis = AsyncRedis.from_url(settings.redis_url)
        consent = ConsentStore(settings.kafka_bootstrap, writer)
        campaigns = CampaignStore(settings.kafka_bootstrap, writer)
        erasures = ErasureLog(settings.kafka_bootstrap, writer)
        consent.view.wait_until_current()
        campaigns.view.wait_until_current()
        erasures.view.wait_until_current()
        contacts = ContactStore(redis, settings.secret_key.get_secret_value())
        offers = OfferBook(redis)
        return cls(
            settings=settings,
            writer=writer,
            consent=consent,
            campaigns=campaigns,
            contacts=contacts,
            offers=offers,
            statuses=StatusBook(redis),
            api_keys=RedisApiKeyStore(redis),
            request_windows=RedisRequestWindows(redis, async_redis),
            erasures=erasures,
            erasure=CustomerErasure(
                settings,
                log=erasures,
                contacts=contacts,
                consent=consent,
                offers=offers,
                redis=redis,
            ),
            redis=redis,
            async_redis=async_redis,
            activity=ActivityFeed.of(settings).start(),
            listening=ListeningFeed.of(settings).start(),
        )

    async def close(self) -> None:
        self.activity.close()
        self.listening.close()
        self.campaigns.close()
        self.consent.close()
        self.erasures.close()
        self.writer.close()
        self.redis.close()
        await self.async_redis.aclose()
