import { EmptyState } from '../components/feedback.tsx';

export function NotFoundPage() {
  return (
    <section>
      <h1>Not found</h1>
      <EmptyState title={`Nothing lives at ${location.pathname}.`}>
        <p>
          Go to the <a href="/">overview</a> or pick a section above.
        </p>
      </EmptyState>
    </section>
  );
}
