// Connection for waitForAny (Async/WaitForAny.swift): ready when a message or end of file can be received.

extension Connection: Waitable {
    /// How ``waitForAny(_:timeout:)`` watches this end: ready when ``poll()`` would say true (a
    /// message has begun to arrive, or end of file), watched through its descriptor for the whole
    /// wait, as a call in progress (a ``close()`` from another thread ends the wait). Python's
    /// `Connection.fileno()`, which `wait` selects on. `waitForAny` throws
    /// ``WaitError/connection(index:_:)`` with ``ConnectionError/closed`` or `.wrongDirection`.
    public var _waitCondition: _WaitCondition {
        _WaitCondition { [self] () throws(WaitFailure) -> WaitHandle in
            let wake: Int32
            do throws(ConnectionError) {
                try enter(sending: false)
                do throws(ConnectionError) { wake = try wakeDescriptor() } catch {
                    leave()
                    throw error
                }
            } catch {
                throw .connection(error)
            }
            return WaitHandle(
                descriptors: [fd, wake],
                isReady: { [self] () throws(WaitFailure) -> Bool in
                    do throws(ConnectionError) { return try poll() } catch { throw .connection(error) }
                },
                end: { [self] in leave() })
        }
    }
}
